"""PatternGraph's bqplot marks hold exactly the picture of the explanation (headless:
ipywidgets models work without a frontend)."""

from __future__ import annotations

import numpy as np
from bqplot import Label, Lines, Scatter

from ipyinfluence.results import Explanation
from ipyinfluence.widgets import PatternGraph
from ipyinfluence.widgets.geometry import LANE_SPACING
from ipyinfluence.widgets.style import DRAWN_WIDTHS, PALETTES, drawn_width, line_width, width_reference


def _segments(mark: Lines) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """The drawn segments, snapped to their nodes (lanes move a line at most a third of a
    column off its node, see geometry.assign_lanes)."""
    # bqplot squeezes a single segment's (1, 2) arrays to (2,): one line of two points
    x, y = np.asarray(mark.x).reshape(-1, 2), np.asarray(mark.y).reshape(-1, 2)
    assert np.all(np.abs(x - np.round(x)) <= 0.2)
    return [((float(round(x0)), float(y0)), (float(round(x1)), float(y1))) for (x0, x1), (y0, y1) in zip(x, y)]


def _drawn_rows(g: PatternGraph, style: str = None) -> list[str]:
    """The word label of every row drawn by the graph's line marks (of one style)."""
    out = []
    for (s, _width), mark in g.line_marks.items():
        rows = len(np.asarray(mark.x).reshape(-1, 2))
        assert len(mark.labels) == rows and len(np.asarray(mark.y).reshape(-1, 2)) == rows
        if style is None or s == style:
            out += list(mark.labels)
    return out


def test_marks_match_known_attention_pattern(known):
    g = PatternGraph(known)
    solid, dashed = g.word_lines[2]["solid"], g.word_lines[2]["dashed"]
    assert _segments(solid) == [((2, 0), (2, 1)), ((2, 2), (3, 3)), ((3, 3), (3, 4))]
    # author and happy share h²[3] and the QoI: there they run in two lanes, author left
    np.testing.assert_allclose(np.asarray(solid.x)[1:, 1], 3 - LANE_SPACING / 2)
    np.testing.assert_allclose(np.asarray(g.word_lines[4]["solid"].x)[-1], 3 + LANE_SPACING / 2)
    assert _segments(dashed) == [((2, 1), (2, 2))]
    assert solid.line_style == "solid" and dashed.line_style == "dashed"
    assert solid.colors[0] == PALETTES["paper"]["positive"]
    assert g.word_lines[4]["solid"].colors[0] == PALETTES["paper"]["negative"]
    assert solid.stroke_width > g.word_lines[4]["solid"].stroke_width  # |0.35| > |-0.08|
    # happy has no skip: no dashed row of it anywhere
    assert g.word_lines[4]["dashed"].mark is None and g.word_lines[4]["dashed"].rows == ()
    assert sorted(_drawn_rows(g, "dashed")) == ["author_2"]
    assert sorted(_drawn_rows(g, "solid")) == ["author_2"] * 3 + ["happy_4"] * 4
    # each word in the mark of its own (stepped) width; every line mark is in the figure
    for w in known.words:
        expected = drawn_width(line_width(w.attention.influence, width_reference(known)))
        for style in ("solid", "dashed"):
            lines = g.word_lines[w.position][style]
            if lines.mark is not None:
                assert lines.stroke_width == expected and g.line_marks[(style, expected)] is lines.mark
                assert lines.labels == [f"{w.token}_{w.position}"] * len(lines.rows)
    assert all(m in g.figure.marks for m in g.line_marks.values())
    assert sorted(w for _s, w in g.line_marks) == sorted(DRAWN_WIDTHS * 2)
    assert sorted(g.head_labels.text.tolist()) == ["H0", "H2", "H3"]
    assert isinstance(g.figure.marks[0], Scatter) and any(isinstance(m, Label) for m in g.figure.marks)


def test_embedding_level_is_one_chain(known):
    g = PatternGraph(known, level="embedding")
    segs = _segments(g.word_lines[4]["solid"])
    assert segs == [((4, 0), (4, 1)), ((4, 1), (1, 2)), ((1, 2), (3, 3)), ((3, 3), (3, 4))]
    for a, b in zip(segs, segs[1:]):
        assert a[1] == b[0]
    assert g.drawn_level == "embedding" and len(g.head_labels.text) == 0
    assert _drawn_rows(g, "dashed") == []  # no skip routes at the embedding level


def test_real_explanation_marks_follow_positions(mlm_result):
    g = PatternGraph(mlm_result, level="embedding")
    q = mlm_result.readout_position
    for w in mlm_result.words:
        expected_x = [w.position] + w.embedding.positions + [q]  # x_i, h^0..h^L, QoI
        segs = _segments(g.word_lines[w.position]["solid"])
        xs = [segs[0][0][0]] + [s[1][0] for s in segs]
        ys = [segs[0][0][1]] + [s[1][1] for s in segs]
        assert xs == expected_x
        assert ys == list(range(mlm_result.num_layers + 3))
    g.level = "attention"
    for w in mlm_result.words:
        pair = g.word_lines[w.position]
        n_skip = sum(r == "skip" for r in w.attention.routes)
        assert len(_segments(pair["dashed"])) == n_skip
        assert len(_segments(pair["solid"])) == mlm_result.num_layers + 2 - n_skip


def test_repeated_tokens_keep_their_own_nodes(mlm_result):
    g = PatternGraph(mlm_result)
    n, layers = len(mlm_result.tokens), mlm_result.num_layers
    assert len(g.grid.x) == n * (layers + 2) + 1 and g.grid.names_unique is False
    assert g.nodes.names_unique is False and g.edge_handles.names_unique is False
    assert list(g.token_labels.text) == mlm_result.tokens


def test_streaming_and_selection(known):
    words = list(known.words)
    known.words = []
    g = PatternGraph(known)
    assert len(g.layout_data.words) == 0 and len(g.nodes.x) == 0
    g.add_word(words[0])
    assert len(g.layout_data.words) == 0  # the view protocol: add_word records, redraw draws
    g.redraw()
    assert [d.position for d in g.layout_data.words] == [2]
    g.add_word(words[1])
    g.redraw()
    assert [d.position for d in g.layout_data.words] == [2, 4]
    marks_before = list(g.figure.marks)
    assert sorted(set(_drawn_rows(g))) == ["author_2", "happy_4"]
    g.select_words([4])
    # the hidden word is not drawn: no row of any mark is its; the shown word's rows are all there
    assert 2 not in g.word_lines and set(_drawn_rows(g)) == {"happy_4"}
    assert len(g.word_lines[4]["solid"].rows) == 4 and len(_drawn_rows(g)) == 4
    assert list(g.figure.marks) == marks_before  # only data changes: bqplot keeps its marks
    g.select_words(None)
    assert g.selected is None and len(g.word_lines[2]["solid"].rows) == 3
    assert sorted(set(_drawn_rows(g))) == ["author_2", "happy_4"]


def test_redraw_resends_only_changed_marks(known):
    g = PatternGraph(known)
    sent = []
    for mark in g.line_marks.values():
        mark.observe(lambda c: sent.append(c["name"]), names=["x", "y", "colors", "labels"])
    g.redraw()  # nothing changed: no mark data is set again
    assert sent == []
    g.palette = "colorblind"  # colours change, geometry does not
    assert sent and set(sent) == {"colors"}


def test_palette_and_tooltips(known):
    g = PatternGraph(known, palette="colorblind")
    assert g.word_lines[2]["solid"].colors[0] == PALETTES["colorblind"]["positive"]
    g.palette = "paper"
    assert g.word_lines[2]["solid"].colors[0] == PALETTES["paper"]["positive"]
    # hover texts: edge handles and nodes show influences
    assert any("head 3" in n and "+0.35" in n for n in g.edge_handles.names)
    assert any(n.startswith("h²[3]") and "author_2 +0.4" not in n and "+0.35" in n for n in g.nodes.names)
    assert "positive" in g.legend.value and "skip" in g.legend.value
    # tooltips show the text only, no "name:" field prefix
    assert all(m.tooltip.show_labels is False for m in (g.nodes, g.edge_handles, g.grid))
    # the width scale is in the legend: |q(x) − q(b)| = 0.8 drawn at full width
    assert "q(x) − q(b)| = 0.8" in g.legend.value


def test_click_shows_candidate_scores(known):
    g = PatternGraph(known)
    index = g._node_keys.index((2, 2))  # h1 at 'author'
    g.nodes._handle_custom_msgs(None, {"event": "element_click", "data": {"index": index}})
    assert "skip" in g.detail and "+0.42 ✓" in g.detail and "head 1" in g.detail
    g.level = "embedding"
    g.show_node(2, 2)
    assert "+0.45 ✓" in g.detail_panel.value  # embedding-level scores at layer 1
    # a grid node off every pattern still lists the shown words' scores at that layer
    grid_index = [(x, r) for x, r in g.layout_data.grid()].index((5.0, 3))
    g.grid._handle_custom_msgs(None, {"event": "element_click", "data": {"index": grid_index}})
    assert "author" in g.detail and "happy" in g.detail
    g.nodes._handle_custom_msgs(None, {"event": "element_click", "data": {"index": 999}})  # ignored


def test_bad_options_are_refused_and_state_kept(known):
    g = PatternGraph(known)
    try:
        g.level = "heads"
    except Exception:
        pass
    assert g.level == "attention"
    g2 = PatternGraph()
    # nothing drawn, but every mark already in the figure (its views are built at display)
    assert g2.figure.marks == g2._marks() and "No explanation" in g2.legend.value
    assert all(len(m.x) == 0 for m in g2.figure.marks)
    g2.set_explanation(known)
    assert len(g2.grid.x) > 0 and any(len(m.x) for m in g2.line_marks.values())
    g2.set_explanation(None)  # cleared again: empty marks, the same list
    assert g2.figure.marks == g2._marks() and all(len(m.x) == 0 for m in g2.figure.marks)
    assert g2.word_lines == {} and "No explanation" in g2.legend.value
    try:
        g2.add_word(known.words[0])
        raise AssertionError("add_word before set_explanation must raise")
    except ValueError as e:
        assert "set_explanation" in str(e)


def test_dom_classes(known):
    g = PatternGraph(known)
    assert "ipyinfluence-graph" in g._dom_classes
    assert "ipyinfluence-detail" in g.detail_panel._dom_classes
    assert isinstance(Explanation.from_json(known.to_json()), Explanation)
