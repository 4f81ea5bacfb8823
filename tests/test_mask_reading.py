"""A [MASK] in the text that the QoI does not read is named, with the head that would read it."""

from __future__ import annotations

import warnings

import pytest

from ipyinfluence import ClassContrast, EmbeddingSimilarity, TokenContrast, explain, load_model
from ipyinfluence.mask_reading import MaskNotReadWarning, unread_mask_message
from ipyinfluence.qoi import as_qoi

AGREEMENT = "the author that the guards like [MASK] happy ."


@pytest.fixture(scope="module")
def models():
    return {task: load_model(name) for task, name in
            (("masked-lm", "tiny"), ("encoder", "tiny-encoder"), ("classification", "tiny-classifier"))}


def _message(model, text, qoi):
    encoded = model.encode(text)
    return unread_mask_message(model, encoded, as_qoi(qoi).bind(model, encoded))


def test_load_model_tiny_names(models):
    assert {m.task for m in models.values()} == {"masked-lm", "encoder", "classification"}
    assert all("tiny random" in m.note for m in models.values())


def test_a_qoi_that_reads_the_mask_is_silent(models):
    assert _message(models["masked-lm"], AGREEMENT, TokenContrast("is", "are")) is None
    assert _message(models["encoder"], "the movie was good .", EmbeddingSimilarity("a film")) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error", MaskNotReadWarning)
        explain(models["masked-lm"], AGREEMENT, TokenContrast("is", "are"), steps=3)


@pytest.mark.parametrize("task, qoi", [("encoder", EmbeddingSimilarity("a great film")),
                                       ("classification", ClassContrast(1, 0))])
def test_a_mask_read_by_nobody_warns_and_names_the_masked_lm_head(models, task, qoi):
    message = _message(models[task], AGREEMENT, qoi)
    assert message and "reads the whole sentence" in message and f"this {task} model has no masked-LM head" in message
    assert "TokenContrast('is', 'are')" in message
    with pytest.warns(MaskNotReadWarning, match="not the \\[MASK\\]"):
        explain(models[task], AGREEMENT, qoi, steps=3)
