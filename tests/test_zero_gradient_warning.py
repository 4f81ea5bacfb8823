"""Issue 16.17: a QoI whose gradient vanishes everywhere (piecewise constant) gives all-zero
influences and a 100% completeness gap; with a fixed number of steps that is now said."""

from __future__ import annotations

import warnings

import pytest
import torch

from ipyinfluence import TokenContrast, explain, explain_many
from ipyinfluence.tiny import tiny_model
from ipyinfluence.validation import NothingExplainedWarning

TEXT = "the author [MASK] happy ."


@pytest.fixture(scope="module")
def mlm():
    return tiny_model("bert", "masked-lm")


def contrast(out):
    logits = out.token_logits(3)
    return logits[:, 2003] - logits[:, 2024]


def stepped(out):
    """Piecewise constant: q(x) ≠ q(b), but ∂q/∂h = 0 everywhere."""
    return torch.floor(contrast(out) * 1e5)


@pytest.mark.parametrize("steps,quadrature", [(5, "paper"), (4, "gauss-legendre")])
def test_a_flat_qoi_with_fixed_steps_warns(mlm, steps, quadrature, one_torch_thread):
    with pytest.warns(NothingExplainedWarning, match=r"every influence is 0.*completeness gap 100%"):
        e = explain(mlm, TEXT, stepped, steps=steps, quadrature=quadrature, level="embedding")
    assert e.q_input != e.q_baseline and all(w.total_influence == 0 for w in e.words)


def test_explain_many_warns_too(mlm, one_torch_thread):
    with pytest.warns(NothingExplainedWarning, match="sentence 1"):
        explain_many(mlm, [TEXT, "the pilot [MASK] sad ."], stepped, steps=3, level="embedding").results()


def test_a_smooth_qoi_is_silent(mlm, one_torch_thread):
    with warnings.catch_warnings():
        warnings.simplefilter("error", NothingExplainedWarning)
        explain(mlm, TEXT, contrast, steps=3, level="embedding")
        explain(mlm, TEXT, TokenContrast("is", "are"), steps=3, level="embedding")
