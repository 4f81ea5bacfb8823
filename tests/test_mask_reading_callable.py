"""Issue 16.17: a callable QoI on a masked LM may read the [MASK]; it is not told to load a
masked LM (it has one). Built-in QoIs and other models keep their warnings."""

from __future__ import annotations

import warnings

import pytest

from ipyinfluence import ClassContrast, TokenContrast, explain
from ipyinfluence.mask_reading import MaskNotReadWarning
from ipyinfluence.qoi import CallableQoI
from ipyinfluence.tiny import tiny_model

TEXT = "the author [MASK] happy ."  # [MASK] at position 3


@pytest.fixture(scope="module")
def mlm():
    return tiny_model("bert", "masked-lm", hidden=16, heads=2, intermediate=20)


def reads_the_mask(out):
    logits = out.token_logits(3)
    return logits[:, 2003] - logits[:, 2024]


@pytest.mark.parametrize("qoi", [reads_the_mask, CallableQoI(reads_the_mask, "is vs are at the mask")])
def test_a_callable_on_a_masked_lm_is_not_told_to_load_one(mlm, qoi, one_torch_thread):
    with warnings.catch_warnings():
        warnings.simplefilter("error", MaskNotReadWarning)
        e = explain(mlm, TEXT, qoi, steps=3, level="embedding")
    assert 3 in e.sources  # it did not say where it reads, so the mask stays a source word


def test_built_in_qois_and_other_models_still_warn(one_torch_thread):
    classifier = tiny_model("bert", "classification", hidden=16, heads=2, intermediate=20)
    with pytest.warns(MaskNotReadWarning, match="no masked-LM head"):
        explain(classifier, TEXT, ClassContrast(1, 0), steps=3, level="embedding")
    with pytest.warns(MaskNotReadWarning, match="no masked-LM head"):
        explain(classifier, TEXT, lambda out: out.logits[:, 1], steps=3, level="embedding")


def test_token_contrast_reading_the_mask_is_silent(mlm, one_torch_thread):
    with warnings.catch_warnings():
        warnings.simplefilter("error", MaskNotReadWarning)
        explain(mlm, TEXT, TokenContrast("is", "are"), steps=3, level="embedding")
