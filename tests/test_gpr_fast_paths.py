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
