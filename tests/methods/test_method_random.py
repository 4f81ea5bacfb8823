"""The random baseline: seeded, uniform, valid; and the seed-spread helper."""

import math
from collections import Counter

import pytest
import torch

from ipyinfluence import TokenContrast, explain
from ipyinfluence.methods import random_patterns, seed_spread


def _positions(emb):
    return [tuple(int(c[w, 0]) for c in emb.chosen) for w in range(emb.chosen[0].shape[0])]


def test_same_seed_same_patterns_other_seed_others(mlm, stream):
    src = torch.as_tensor(stream.sources)
    a, a_att = random_patterns(mlm, stream.prep, src, seed=3)
    b, b_att = random_patterns(mlm, stream.prep, src, seed=3)
    c, _ = random_patterns(mlm, stream.prep, src, seed=4)
    assert _positions(a) == _positions(b)
    assert all(torch.equal(x, y) for x, y in zip(a_att.chosen, b_att.chosen))
    assert _positions(a) != _positions(c)


def test_a_words_pattern_does_not_depend_on_the_other_words(mlm, stream):
    src = torch.as_tensor(stream.sources)
    together, _ = random_patterns(mlm, stream.prep, src, level="embedding", seed=1)
    alone, _ = random_patterns(mlm, stream.prep, src[3:4], level="embedding", seed=1)
    assert _positions(together)[3] == _positions(alone)[0]


def test_positions_are_uniform(mlm, stream):
    """40 seeds × 10 words = 400 draws per layer over 11 positions (about 36 each)."""
    src = torch.as_tensor(stream.sources)
    n = len(stream.encoded)
    counts = [Counter() for _ in range(mlm.num_layers)]
    for seed in range(40):
        emb, _ = random_patterns(mlm, stream.prep, src, level="embedding", seed=seed)
        assert torch.equal(emb.chosen[0][:, 0], src)  # h^0 stays at the source
        for l in range(mlm.num_layers):
            counts[l].update(emb.chosen[l + 1][:, 0].tolist())
    for c in counts:
        assert set(c) == set(range(n))
        # binomial(400, 1/11): sd ≈ 5.8, so these bounds sit beyond 3.5 sd
        assert all(15 <= v <= 58 for v in c.values()), c


def test_routes_are_valid_and_mix_heads_and_skips(mlm, stream):
    src = torch.as_tensor(stream.sources)
    heads = mlm.num_heads
    kinds = Counter()
    for seed in range(10):
        emb, att = random_patterns(mlm, stream.prep, src, seed=seed)
        for l in range(1, mlm.num_layers + 1):
            for w in range(src.numel()):
                k, route = divmod(int(att.chosen[l - 1][w, 0]), heads + 1)
                assert k == int(emb.chosen[l][w, 0])
                if route == 0:
                    assert int(emb.chosen[l - 1][w, 0]) == k  # a skip only where the path stays put
                kinds["skip" if route == 0 else "head"] += 1
    assert kinds["skip"] > 0 and kinds["head"] > 0


def test_explain_seed_in_method_name(mlm, text):
    qoi = TokenContrast("is", "are")
    a = explain(mlm, text, qoi, steps=3, method="random:5", level="embedding")
    b = explain(mlm, text, qoi, steps=3, method="random:5", level="embedding", max_batch=3)  # one word per chunk
    c = explain(mlm, text, qoi, steps=3, method="random", level="embedding")
    d = explain(mlm, text, qoi, steps=3, method="random:0", level="embedding")
    assert [w.embedding.positions for w in a.words] == [w.embedding.positions for w in b.words]
    assert [w.embedding.positions for w in c.words] == [w.embedding.positions for w in d.words]
    assert [w.embedding.positions for w in a.words] != [w.embedding.positions for w in c.words]
    assert a.method == "random:5" and a.words[0].embedding.method == "random:5"


def test_seed_spread():
    s = seed_spread(lambda seed: float(seed * seed), seeds=[1, 2, 3])
    assert s.values == [1.0, 4.0, 9.0]
    assert s.mean == pytest.approx(14 / 3)
    assert s.std == pytest.approx(math.sqrt(((1 - 14 / 3) ** 2 + (4 - 14 / 3) ** 2 + (9 - 14 / 3) ** 2) / 2))
    assert (s.min, s.max) == (1.0, 9.0)
    assert seed_spread(lambda seed: 2.0, seeds=[7]).std == 0.0
    with pytest.raises(ValueError):
        seed_spread(lambda seed: 0.0, seeds=[])
