"""Pattern entropy on distributions checked by hand."""

import math

import pytest

from ipyinfluence.metrics import binary_entropy, graph_nodes, pattern_entropy, template_entropy
from ipyinfluence.results import Explanation

from _hand_results import word


def test_binary_entropy():
    assert binary_entropy(0.0) == 0.0 and binary_entropy(1.0) == 0.0
    assert binary_entropy(0.5) == 1.0
    assert binary_entropy(0.25) == pytest.approx(0.8112781244591328)  # −¼log₂¼ − ¾log₂¾
    assert binary_entropy(0.25) == pytest.approx(binary_entropy(0.75))
    with pytest.raises(ValueError):
        binary_entropy(1.5)


def test_pattern_entropy_by_hand():
    """4 instances: a in all (H=0), b in 2 (H=1), c and d in 1 each (H=0.8113); |G| = 8."""
    patterns = [{"a", "b"}, {"a", "c"}, {"a", "b"}, {"a", "d"}]
    expected = (0 + 1 + 2 * 0.8112781244591328) / 8
    assert pattern_entropy(patterns, 8) == pytest.approx(expected)
    assert pattern_entropy(patterns, list("abcdefgh")) == pytest.approx(expected)
    assert pattern_entropy([{"a"}, {"a"}], 8) == 0.0  # identical patterns: no uncertainty
    with pytest.raises(ValueError, match="not in the graph"):
        pattern_entropy(patterns, list("abc"))


def _explanation(words, n=4, layers=2, heads=2):
    return Explanation(text="t", tokens=[f"t{i}" for i in range(n)], model="m", qoi="q", q_input=0.0, q_baseline=0.0,
                       steps=3, baseline="mask", level="attention", top_k=1, num_layers=layers, num_heads=heads,
                       sources=[w.position for w in words], readout_position=3, words=words)


def test_template_entropy_by_hand():
    """Two instances, the word at position 1: π = x_1, h^0_1, h^1_2, h^2_3 in one and
    x_1, h^0_1, h^1_1, h^2_3 in the other. h^1_1 and h^1_2 each have p = 1/2 (H = 1),
    the rest p = 1 (H = 0). G_e of 4 tokens, 2 layers: 4 x + 3·4 h = 16 nodes -> Ĥ = 2/16."""
    e1 = _explanation([word(1, 0.5, [1, 2, 3]), word(0, -0.2, [0, 0, 3])])
    e2 = _explanation([word(1, 0.4, [1, 1, 3]), word(0, 0.3, [0, 0, 3])])
    assert len(graph_nodes(2, 4, 2, "embedding")) == 16
    assert template_entropy([e1, e2], "embedding", position=1) == pytest.approx(2 / 16)
    # Π_+ per instance: e1 = π_1 (4 nodes), e2 = π_1 ∪ π_0 (x_0, h^0_0, h^1_0 added, h^2_3 shared):
    # h^1_2, h^1_1, x_0, h^0_0, h^1_0 each in one of two instances -> 5 bits over 16 nodes
    assert template_entropy([e1, e2], "embedding") == pytest.approx(5 / 16)
    # at the attention level G_a adds 2 layers × 4 positions × (2 heads + 1 skip) = 24 nodes
    a1 = _explanation([word(1, 0.5, [1, 2, 3], routes=[0, 1])])
    a2 = _explanation([word(1, 0.5, [1, 2, 3], routes=[1, 1])])
    assert template_entropy([a1, a2], "attention", position=1) == pytest.approx(2 / 40)
    with pytest.raises(ValueError, match="length"):
        template_entropy([e1, _explanation([word(1, 0.5, [1, 2, 3])], n=5)], "embedding", position=1)
    assert math.isfinite(template_entropy([e1], "embedding", position=1))
