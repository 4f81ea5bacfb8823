"""Node sets from results, their masks, and matching per-layer counts."""

import torch

from ipyinfluence.metrics import (
    graph_nodes,
    layer_counts,
    match_layer_counts,
    node_frequency,
    node_masks,
    pattern_nodes,
    union_nodes,
)

from _hand_results import word


def test_pattern_and_union_by_hand():
    w1 = word(1, 0.5, [1, 1, 3], routes=["skip", 0])
    w2 = word(2, -0.3, [2, 3, 3], routes=[1, "skip"])
    assert pattern_nodes(w1) == {("x", 1), ("h", 0, 1), ("h", 1, 1), ("h", 2, 3)}
    assert pattern_nodes(w1, "attention") == pattern_nodes(w1) | {("s", 1, 1), ("a", 2, 3, 0)}
    assert union_nodes([w1, w2], "attention", sign=+1) == pattern_nodes(w1, "attention")
    assert union_nodes([w1, w2], "embedding", sign=-1) == {("x", 2), ("h", 0, 2), ("h", 1, 3), ("h", 2, 3)}
    assert union_nodes([w1, w2], "embedding", sign=None) == pattern_nodes(w1) | pattern_nodes(w2)
    assert node_frequency([w1, w2], sign=None)[("h", 2, 3)] == 2


def test_masks_by_hand():
    nodes = {("x", 0), ("h", 0, 0), ("h", 2, 1), ("a", 1, 2, 1), ("s", 2, 0)}
    m = node_masks(nodes, num_layers=2, length=3, num_heads=2, level="attention")
    assert m.hidden.tolist() == [[True, False, False], [False, False, False], [False, True, False]]
    assert m.heads.sum() == 1 and bool(m.heads[0, 2, 1])
    assert m.skips.tolist() == [[False, False, False], [True, False, False]]
    e = node_masks(nodes, 2, 3, 2, "embedding")
    assert torch.equal(e.hidden, m.hidden) and e.heads.all() and e.skips.all()


def test_match_layer_counts():
    gpr = {("h", 1, 0), ("h", 1, 1), ("h", 1, 2), ("h", 2, 3), ("x", 0)}
    base = {("h", 1, 4), ("h", 2, 0), ("h", 2, 1), ("x", 0)}
    target = layer_counts(gpr)
    assert target == {("h", 1): 3, ("h", 2): 1}
    universe = graph_nodes(2, 5, 2, "embedding")
    ranking = {("h", 2, 1): 2.0, ("h", 2, 0): 1.0, ("h", 1, 3): 5.0}
    out = match_layer_counts(base, target, universe, ranking, seed=0)
    assert layer_counts(out) == target
    assert ("x", 0) in out
    assert ("h", 2, 1) in out and ("h", 2, 0) not in out  # trimmed by ranking
    assert {("h", 1, 4), ("h", 1, 3)} <= out  # kept, then padded with the best-ranked
    again = match_layer_counts(base, target, universe, ranking, seed=0)
    assert again == out


def test_match_layer_counts_does_not_depend_on_target_order():
    from ipyinfluence.metrics.nodes import match_layer_counts

    universe = [("h", l, k) for l in range(3) for k in range(5)]
    target = {("h", 2): 2, ("h", 0): 1, ("h", 1): 3}
    a = match_layer_counts([], target, universe, seed=3)
    b = match_layer_counts([], dict(reversed(list(target.items()))), universe, seed=3)
    assert a == b and len(a) == 6
