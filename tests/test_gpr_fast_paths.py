"""Fast paths equal their dense references: the gathered attention level vs the dense one."""

import pytest
import torch

from ipyinfluence import TokenContrast
from ipyinfluence.gpr import attention_level, embedding_level, prepare
from ipyinfluence.integration import alphas, baseline_vectors
from ipyinfluence.tiny import tiny_model

from _dense_attention_level import attention_level_dense

TEXT = "the author that the guards like [MASK] happy ."


@pytest.mark.parametrize("family", ["bert", "albert"])
@pytest.mark.parametrize("top_k", [1, 3, 40])
def test_gathered_attention_level_equals_dense(family, top_k):
    m = tiny_model(family, "masked-lm", seed=7, dtype=torch.float64, layers=3)
    enc = m.encode(TEXT)
    bound = TokenContrast("is", "are").bind(m, enc)
    ids = torch.tensor(enc.input_ids)
    prep = prepare(m, m.word_vectors(ids), baseline_vectors(m, enc, "mask"), bound, alphas(4, dtype=torch.float64))
    src = torch.tensor([i for i in range(len(ids)) if i != bound.readout_position])
    emb = embedding_level(m, prep, src, top_k)
    fast = attention_level(m, prep, src, emb, top_k)
    slow = attention_level_dense(m, prep, src, emb, top_k)
    for a, b in zip(fast.scores, slow.scores):
        assert torch.equal(a.isnan(), b.isnan())
        assert torch.allclose(torch.nan_to_num(a), torch.nan_to_num(b), atol=1e-12)
    for a, b in zip(fast.chosen, slow.chosen):
        assert torch.equal(a, b)
    assert torch.allclose(fast.influence, slow.influence, atol=1e-12)


# -- the embedding level read through the adjoint vs the plain tangent sweep ---------------

from ipyinfluence import ClassContrast, EmbeddingSimilarity  # noqa: E402
from ipyinfluence.explanation_stream import iter_explain  # noqa: E402

from _tangent_embedding_level import tangent_embedding_level  # noqa: E402


@pytest.mark.parametrize("family", ["bert", "roberta", "electra", "albert", "distilbert"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("quadrature", ["paper", "gauss-legendre"])
def test_adjoint_embedding_level_equals_the_tangent_sweep(family, dtype, quadrature, one_torch_thread):
    model = tiny_model(family=family, seed=3, dtype=dtype)
    stream = iter_explain(model, TEXT.replace("[MASK]", model.mask_token), TokenContrast("is", "are"), steps=4,
                          quadrature=quadrature)
    src = torch.as_tensor(stream.sources)
    tol = 1e-10 if dtype == torch.float64 else 1e-6
    for top_k in (1, 2, 3):
        with torch.no_grad():
            ref = tangent_embedding_level(model, stream.prep, src, top_k)
            got = embedding_level(model, stream.prep, src, top_k)
        for a, b in zip(ref.chosen, got.chosen):
            assert torch.equal(a, b), (top_k, a, b)
        for a, b in zip(ref.scores, got.scores):
            torch.testing.assert_close(b, a, rtol=tol, atol=tol * float(a.abs().max()))
        torch.testing.assert_close(got.total, ref.total, rtol=tol, atol=0.0)
        torch.testing.assert_close(got.influence, ref.influence, rtol=tol, atol=tol * float(ref.influence.abs().max()))


@pytest.mark.parametrize("task", ["classification", "encoder"])
def test_adjoint_embedding_level_on_pooled_heads_and_forced_choices(task, one_torch_thread):
    model = tiny_model(task=task, seed=4, dtype=torch.float64)
    qoi = ClassContrast("positive", "negative") if task == "classification" else EmbeddingSimilarity("a good film")
    stream = iter_explain(model, "the movie is not bad at all .", qoi, steps=3)
    src = torch.as_tensor(stream.sources)
    with torch.no_grad():
        ref = tangent_embedding_level(model, stream.prep, src, 2)
        got = embedding_level(model, stream.prep, src, 2)
        n = len(stream.encoded)
        forced = [torch.randint(0, n, (src.numel(), 2), generator=torch.Generator().manual_seed(l))
                  for l in range(model.num_layers)]
        ref_forced = tangent_embedding_level(model, stream.prep, src, forced=forced)
        got_forced = embedding_level(model, stream.prep, src, forced=forced)
    assert all(torch.equal(a, b) for a, b in zip(ref.chosen, got.chosen))
    for r, g in ((ref, got), (ref_forced, got_forced)):
        for a, b in zip(r.scores, g.scores):
            torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-10 * float(a.abs().max()))
        torch.testing.assert_close(g.influence, r.influence, rtol=1e-10, atol=1e-12)
