"""Path share: dynamic programming against enumeration, on graphs small enough to count by hand."""

import itertools

import pytest

from ipyinfluence.metrics import count_paths, path_share


def enumerate_paths(n, layers, heads, sources, readout, level):
    """Every source-to-QoI path as a tuple of nodes (the QoI left implicit)."""
    ends = range(n) if readout is None else [readout]
    for i in sources:
        for mid in itertools.product(range(n), repeat=layers):
            if mid[-1] not in ends:
                continue
            pos = (i,) + mid
            if level == "embedding":
                yield (("x", i),) + tuple(("h", l, p) for l, p in enumerate(pos))
                continue
            options = []
            for l in range(1, layers + 1):
                j, k = pos[l - 1], pos[l]
                routes = [("a", l, k, h) for h in range(heads)] + ([("s", l, k)] if j == k else [])
                options.append(routes)
            for routes in itertools.product(*options):
                nodes = [("x", i), ("h", 0, i)]
                for l, r in enumerate(routes, start=1):
                    nodes += [r, ("h", l, pos[l])]
                yield tuple(nodes)


def brute(pi, *args):
    paths = list(enumerate_paths(*args))
    return sum(all(n in pi for n in p) for p in paths), len(paths)


PI_E = {("x", 0), ("x", 1), ("h", 0, 0), ("h", 0, 1), ("h", 1, 0), ("h", 1, 2), ("h", 2, 2)}


def test_embedding_graph_by_hand():
    """3 tokens, 2 layers, sources {0, 1}, readout 2: 2 sources × 3 middle nodes = 6 paths.
    Π keeps x_0, x_1, h^0_0, h^0_1, h^1_0, h^1_2, h^2_2: each source has 2 kept paths, 4 in all."""
    r = path_share(PI_E, 2, 3, 2, [0, 1], readout=2, level="embedding")
    assert (r.kept, r.total) == (4, 6)
    assert r.share == pytest.approx(4 / 6)
    assert brute(PI_E, 3, 2, 2, [0, 1], 2, "embedding") == (4, 6)


def test_attention_graph_by_hand():
    """Same graph with A = 2 heads. From source i, layer 1 reaches each k by 2 heads plus the
    skip when k == i: 2·3 + 1 = 7 partial paths; into h^2_2 come 2 heads × 7 + the skip from
    h^1_2 (2 partial paths, its two heads, as i ≠ 2) = 16 per source, 32 in all."""
    total = count_paths(None, 2, 3, 2, [0, 1], readout=2, level="attention")
    assert total == 32
    assert brute(set(), 3, 2, 2, [0, 1], 2, "attention")[1] == 32
    # Π: PI_E's h nodes plus head 0 everywhere and the skips s^1_0, s^2_2
    pi = set(PI_E) | {("a", l, k, 0) for l in (1, 2) for k in range(3)} | {("s", 1, 0), ("s", 2, 2)}
    # by hand: x_0 -> h^0_0 -> {h^1_0: a0 or skip (2), h^1_2: a0 (1)}
    #                 -> h^2_2: a0 from each of the 3 + the skip from h^1_2 (1) = 4
    #          x_1 -> h^0_1 -> {h^1_0: a0 (1), h^1_2: a0 (1)} -> h^2_2: a0 (2) + the skip from h^1_2 (1) = 3
    r = path_share(pi, 2, 3, 2, [0, 1], readout=2, level="attention")
    assert (r.kept, r.total) == (7, 32)
    assert brute(pi, 3, 2, 2, [0, 1], 2, "attention") == (7, 32)


@pytest.mark.parametrize("level", ["embedding", "attention"])
@pytest.mark.parametrize("readout", [None, 1])
def test_random_sets_against_enumeration(level, readout):
    import random

    rng = random.Random(7)
    n, layers, heads = 3, 3, 2
    sources = [0, 2] if readout == 1 else [0, 1, 2]
    every = {node for p in enumerate_paths(n, layers, heads, sources, readout, level) for node in p}
    for _ in range(5):
        pi = {node for node in every if rng.random() < 0.8}
        kept, total = brute(pi, n, layers, heads, sources, readout, level)
        r = path_share(pi, layers, n, heads, sources, readout, level)
        assert (r.kept, r.total) == (kept, total)


def test_totals_past_1e11_are_exact():
    """Without a readout each layer multiplies the count by A·N + 1 (heads from every j, plus the skip)."""
    n, layers, heads = 20, 12, 12
    sources = range(19)
    total = count_paths(None, layers, n, heads, sources, None, "attention")
    assert total == 19 * (heads * n + 1) ** layers
    assert total > 10 ** 28
    assert count_paths(None, layers, n, heads, sources, 3, "embedding") == 19 * n ** (layers - 1)
    one = {("x", 0), ("h", 0, 0)} | {node for l in range(1, layers + 1) for node in (("h", l, 0), ("s", l, 0))}
    r = path_share(one, layers, n, heads, sources, None, "attention")
    assert r.kept == 1 and r.share == 1 / total
