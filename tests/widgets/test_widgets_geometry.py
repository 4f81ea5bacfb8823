"""The picture's layout in data coordinates, checked against a hand-made explanation."""

from __future__ import annotations

import math

import pytest

from ipyinfluence.results import Explanation
from ipyinfluence.widgets.geometry import drawn_level, influence_max, layout, qoi_x, row_labels
from ipyinfluence.widgets.style import MAX_WIDTH, MIN_WIDTH, line_width, sign_color


def _path(drawing):
    return [((s.x0, s.y0), (s.x1, s.y1), s.style, s.route) for s in drawing.segments]


def test_embedding_level_segments_follow_positions(known):
    lay = layout(known, level="embedding")
    author, happy = lay.words
    # x_2 -> h0_2 -> h1_2 -> h2_3 -> QoI above the [MASK] (3)
    assert _path(author) == [((2, 0), (2, 1), "solid", None), ((2, 1), (2, 2), "solid", None),
                             ((2, 2), (3, 3), "solid", None), ((3, 3), (3, 4), "solid", None)]
    assert [s.x1 for s in happy.segments][:-1] == [4, 1, 3]
    assert author.polylines() == [([(2, 0), (2, 1), (2, 2), (3, 3), (3, 4)], "solid")]
    assert author.influence == 0.4 and happy.influence == -0.1
    assert lay.scale_max == 0.4


def test_attention_level_routes(known):
    lay = layout(known, level="attention")
    author, happy = lay.words
    assert _path(author) == [((2, 0), (2, 1), "solid", None), ((2, 1), (2, 2), "dashed", "skip"),
                             ((2, 2), (3, 3), "solid", 3), ((3, 3), (3, 4), "solid", None)]
    assert [s.route for s in happy.segments] == [None, 0, 2, None]
    # same-style runs chain; a style change starts a new polyline
    assert [style for _, style in author.polylines()] == ["solid", "dashed", "solid"]
    assert len(happy.polylines()) == 1
    assert author.influence == 0.35


def test_nodes_carry_influences(known):
    nodes = {(n.row, n.position): n.scores for n in layout(known, level="embedding").nodes()}
    assert nodes[(0, 2)] == [(2, 0.5)]  # x node: g_i
    assert nodes[(3, 3)] == [(2, 0.4), (4, -0.1)]  # shared h2 node
    assert nodes[(4, 3)] == [(2, 0.4), (4, -0.1)]  # QoI: pattern influence
    assert len(nodes) == 8


def test_selection_and_level_fallback(known):
    assert [d.position for d in layout(known, selected=[4]).words] == [4]
    assert layout(known, selected=[]).words == []
    no_attention = Explanation.from_dict({**known.to_dict(), "level": "embedding"})
    for w in no_attention.words:
        w.attention = None
    assert drawn_level(no_attention, "attention") == "embedding"
    assert layout(no_attention, level="attention").level == "embedding"
    with pytest.raises(ValueError):
        drawn_level(known, "heads")


def test_pooled_qoi_sits_in_the_middle(known):
    known.readout_position = None
    assert qoi_x(known) == 2.5
    assert layout(known).words[0].segments[-1].x1 == 2.5
    assert row_labels(2) == ["x", "h⁰", "h¹", "h²", "QoI"]


def test_width_and_colour():
    assert line_width(0.0, 1.0) == MIN_WIDTH and line_width(-1.0, 1.0) == MAX_WIDTH
    assert line_width(5.0, 1.0) == MAX_WIDTH and line_width(1.0, 0.0) == MIN_WIDTH
    assert line_width(math.nan, 1.0) == MIN_WIDTH
    assert sign_color(1) != sign_color(-1)
    assert sign_color(1, "colorblind") not in (sign_color(1), sign_color(-1))
    with pytest.raises(ValueError, match="palette"):
        sign_color(1, "rainbow")


def test_shared_influence_max(known):
    other = Explanation.from_dict(known.to_dict())
    other.words[0].attention.influence = 2.0
    assert influence_max([known, other]) == 2.0
    assert influence_max([known], level="embedding") == 0.4
