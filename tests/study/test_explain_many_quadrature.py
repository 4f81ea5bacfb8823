"""explain_many follows the integration rule like explain: Gauss–Legendre batches (whose
points miss α = 0 and 1, so each sentence's q(b), q(x) come from its own ends), and
steps="auto" (one sentence at a time, each settling on its own count)."""

import pytest
import torch

from ipyinfluence import TokenContrast, explain, explain_many
from ipyinfluence.tiny import tiny_model

TEXTS = ["the author that the guards like [MASK] happy .", "the pilots [MASK] happy .",
         "the surgeon that the managers hate [MASK] sad ."]


@pytest.fixture(scope="module")
def model():
    return tiny_model("bert", "masked-lm", seed=5, dtype=torch.float64, layers=2)


def test_gauss_legendre_batches_equal_explain(model, one_torch_thread):
    qoi = TokenContrast("is", "are")
    many = explain_many(model, TEXTS, qoi, steps=6, quadrature="gauss-legendre").results()
    for text, got in zip(TEXTS, many):
        want = explain(model, text, qoi, steps=6, quadrature="gauss-legendre")
        assert got.quadrature == "gauss-legendre" and got.steps == 6
        assert got.q_input == pytest.approx(want.q_input, rel=1e-12)
        assert got.q_baseline == pytest.approx(want.q_baseline, rel=1e-12)
        for a, b in zip(got.words, want.words):
            assert a.embedding.positions == b.embedding.positions and a.attention.routes == b.attention.routes
            assert a.total_influence == pytest.approx(b.total_influence, rel=1e-9, abs=1e-15)
            assert a.attention.influence == pytest.approx(b.attention.influence, rel=1e-9, abs=1e-15)


def test_auto_steps_go_one_sentence_at_a_time(model, one_torch_thread):
    qoi = TokenContrast("is", "are")
    many = explain_many(model, TEXTS, qoi, steps="auto", level="embedding").results()
    for text, got in zip(TEXTS, many):
        want = explain(model, text, qoi, steps="auto", level="embedding")
        assert got.steps == want.steps and got.config["auto_steps"] == want.config["auto_steps"]
        assert [w.total_influence for w in got.words] == pytest.approx([w.total_influence for w in want.words])
