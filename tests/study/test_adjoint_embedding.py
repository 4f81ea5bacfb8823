"""The adjoint embedding-level sweep against the engine's embedding_level (its reference)."""

import pytest
import torch

from ipyinfluence import ClassContrast, EmbeddingSimilarity, TokenContrast
from ipyinfluence.explain import iter_explain
from ipyinfluence.gpr import embedding_level
from ipyinfluence.study.adjoint_embedding import embedding_level_adjoint
from ipyinfluence.tiny import tiny_model

TEXT = "the author that the guards like [MASK] happy ."


@pytest.mark.parametrize("family", ["bert", "roberta", "electra", "albert", "distilbert"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_same_scores_and_choices_as_the_engine(family, dtype):
    model = tiny_model(family=family, seed=3, dtype=dtype)
    stream = iter_explain(model, TEXT.replace("[MASK]", model.mask_token), TokenContrast("is", "are"), steps=4)
    src = torch.as_tensor(stream.sources)
    tol = 1e-10 if dtype == torch.float64 else 1e-6
    for top_k in (1, 2, 3):
        with torch.no_grad():
            ref = embedding_level(model, stream.prep, src, top_k)
            got = embedding_level_adjoint(model, stream.prep, src, top_k)
        for a, b in zip(ref.chosen, got.chosen):
            assert torch.equal(a, b), (top_k, a, b)
        for a, b in zip(ref.scores, got.scores):
            torch.testing.assert_close(b, a, rtol=tol, atol=tol * float(a.abs().max()))
        torch.testing.assert_close(got.total, ref.total, rtol=tol, atol=0.0)
        torch.testing.assert_close(got.influence, ref.influence, rtol=tol, atol=tol * float(ref.influence.abs().max()))


@pytest.mark.parametrize("task", ["classification", "encoder"])
def test_pooled_heads_pick_any_position(task):
    model = tiny_model(task=task, seed=4, dtype=torch.float64)
    qoi = ClassContrast("positive", "negative") if task == "classification" else EmbeddingSimilarity("a good film")
    stream = iter_explain(model, "the movie is not bad at all .", qoi, steps=3)
    src = torch.as_tensor(stream.sources)
    with torch.no_grad():
        ref = embedding_level(model, stream.prep, src, 2)
        got = embedding_level_adjoint(model, stream.prep, src, 2)
    assert all(torch.equal(a, b) for a, b in zip(ref.chosen, got.chosen))
    for a, b in zip(ref.scores, got.scores):
        torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-10 * float(a.abs().max()))
