"""The picture's layout in data coordinates, checked against a hand-made explanation."""

from __future__ import annotations

import math

import pytest

from ipyinfluence.results import Explanation
from ipyinfluence.widgets.geometry import (LANE_SPACING, drawn_level, influence_max, lane_offsets, layout,
                                           place_head_labels, qoi_x, row_labels, token_rows)
from ipyinfluence.widgets.style import (MAX_WIDTH, MIN_WIDTH, line_width, sign_color, text_width,
                                        width_legend_html, width_reference)


def _path(drawing):
    return [((s.x0, s.y0), (s.x1, s.y1), s.style, s.route) for s in drawing.segments]


def test_embedding_level_segments_follow_positions(known):
    lay = layout(known, level="embedding")
    author, happy = lay.words
    # x_2 -> h0_2 -> h1_2 -> h2_3 -> QoI above the [MASK] (3)
    assert _path(author) == [((2, 0), (2, 1), "solid", None), ((2, 1), (2, 2), "solid", None),
                             ((2, 2), (3, 3), "solid", None), ((3, 3), (3, 4), "solid", None)]
    assert [s.x1 for s in happy.segments][:-1] == [4, 1, 3]
    # drawn: author takes the left lane where it shares h²[3] and the QoI with happy
    lane = LANE_SPACING / 2
    assert author.polylines() == [([(2, 0), (2, 1), (2, 2), (3 - lane, 3), (3 - lane, 4)], "solid")]
    assert author.influence == 0.4 and happy.influence == -0.1
    assert lay.scale_max == pytest.approx(0.8)  # |q(x) − q(b)|, not the largest pattern


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


def test_lanes_separate_words_sharing_a_node(known):
    lay = layout(known, level="attention")
    author, happy = lay.words
    # shared nodes: h²[3] (row 3) and the QoI (row 4); elsewhere each word is alone: no offset
    ends = {(s.end, d.position): s.off1 for d in lay.words for s in d.segments}
    assert ends[((3.0, 3), 2)] == pytest.approx(-LANE_SPACING / 2)
    assert ends[((3.0, 3), 4)] == pytest.approx(+LANE_SPACING / 2)
    assert all(s.off0 == 0 for s in author.segments[:2]) and happy.segments[0].off0 == 0
    assert lane_offsets(1) == [0.0] and lane_offsets(3) == pytest.approx([-LANE_SPACING, 0, LANE_SPACING])
    many = lane_offsets(40)
    assert max(many) - min(many) == pytest.approx(0.36) and len(set(many)) == 40


def _boxes_overlap(a, b, col_px, row_px):
    return abs(a.x - b.x) * col_px < (a.width_px + b.width_px) / 2 and abs(a.y - b.y) * row_px < a.height_px


def test_head_labels_one_per_route_apart_and_beside_their_edge(known):
    # three words entering h²[3] by heads: one label per distinct head route
    lay = layout(known, level="attention")
    labels = place_head_labels(lay, col_px=40, row_px=40)
    assert sorted(h.text for h in labels) == ["H0", "H2", "H3"]
    for a in labels:
        for b in labels:
            assert a is b or not _boxes_overlap(a, b, 40, 40)
        half = a.width_px / 2 / 40
        covered = [c for c in range(len(known.tokens)) if a.x - half <= c <= a.x + half]
        own = {h for h in (a.position,)} | {w for w in a.words}
        # a label never covers a column other than those of its own edge
        edge = [s for d in lay.words for s in d.segments if s.route == a.route and s.y1 == a.layer + 1][0]
        assert set(covered) <= {int(edge.x0), int(edge.x1)}, (a, covered, own)


def test_labels_readable_on_a_long_sentence_at_top_k_3(mlm):
    from ipyinfluence import TokenContrast, explain

    words = "the author that the guards like [MASK] happy and the pilots near the dancers smile at the officers"
    expl = explain(mlm, words, TokenContrast("is", "are"), steps=2, level="attention", top_k=3)
    rows = token_rows(expl.tokens)
    lay = layout(expl)
    labels = place_head_labels(lay, rows.col_px, 40)
    pairs = [(a, b) for i, a in enumerate(labels) for b in labels[i + 1:] if _boxes_overlap(a, b, rows.col_px, 40)]
    assert pairs == []
    # one label per (layer, node, head): no stacks of the same text
    keys = [(h.layer, h.position, h.route) for h in labels]
    assert len(keys) == len(set(keys))
    # every edge starts and ends at a drawn node (no line hangs from a bare grid point)
    nodes = {(n.x, n.row) for n in lay.nodes()}
    assert all(s.start in nodes and s.end in nodes for d in lay.words for s in d.segments)


def test_token_rows_keep_neighbours_apart():
    short = token_rows(["the", "cat", "sat"])
    assert short.rows == [0, 0, 0] and short.col_px == 40
    long = ["understanding", "misconceptions", "extraordinarily", "the", "internationalisation"]
    rows = token_rows(long)
    assert rows.num_rows == 2 and rows.texts[4].endswith("…") and len(rows.texts[4]) == 14
    for i in range(len(long) - 1):
        for j in range(i + 1, len(long)):
            if rows.rows[i] == rows.rows[j]:
                gap = (j - i) * rows.col_px - (text_width(rows.texts[i]) + text_width(rows.texts[j])) / 2
                assert gap >= 8


def test_width_scale_is_comparable_across_methods(known):
    """A baseline whose patterns carry 1e-14 is thin next to GPR's 1e-2 on the same
    sentence: both are measured against |q(x) − q(b)|, not against their own maximum."""
    gpr = Explanation.from_dict(known.to_dict())
    tiny = Explanation.from_dict(known.to_dict())
    for w in gpr.words:
        w.attention.influence = 1e-2 * (1 if w.sign > 0 else -1)
    for w in tiny.words:
        w.attention.influence = 1e-14
    gpr.q_input = tiny.q_input = 0.02 + known.q_baseline
    wide = line_width(layout(gpr).words[0].influence, layout(gpr).scale_max)
    thin = line_width(layout(tiny).words[0].influence, layout(tiny).scale_max)
    assert width_reference(gpr) == width_reference(tiny) == pytest.approx(0.02)
    assert thin == pytest.approx(MIN_WIDTH, abs=1e-5)
    assert wide == pytest.approx(MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * 0.5 ** 0.5)  # √(0.01 / 0.02)
    assert wide > 3 * thin
    legend = width_legend_html(0.02)
    assert "q(x) − q(b)" in legend and "0.02" in legend and "≥ 100%" in legend
    known.q_input = known.q_baseline  # a QoI that does not move: fall back to the largest |g_i|
    assert width_reference(known) == 0.5
