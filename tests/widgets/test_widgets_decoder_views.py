"""The views of a causal LM's explanation: the staircase (pale nodes out of reach, the QoI
above the last column), BOS marked, grouped-query heads labelled ``H<q> (kv <g>)``."""

from __future__ import annotations

import re

import pytest

from ipyinfluence.widgets import Explorer
from ipyinfluence.widgets.decoder_marks import UNREACHABLE_COLOR, DecoderInfo
from ipyinfluence.widgets.style import GRID_COLOR

STEPS = 3
TEXT = "When Mary and John went to the store, John gave a drink to"


@pytest.fixture(scope="module")
def run():
    """An Explorer that ran a tiny Llama (4 query / 2 KV heads) with a BOS tokenizer."""
    from ipyinfluence.tiny import tiny_decoder

    model = tiny_decoder("llama", bos=True)
    x = Explorer(model, text=TEXT, steps=STEPS, level="attention", show_all=True)  # every word drawn
    x.baseline = "zero"
    expl = x.run()
    assert x.error == "", x.error
    return model, x, expl


def test_head_labels_name_the_kv_group():
    info = DecoderInfo(None, num_heads=9, num_kv_heads=3)
    assert [info.head_label(q) for q in (0, 2, 3, 8)] == ["H0 (kv 0)", "H2 (kv 0)", "H3 (kv 1)", "H8 (kv 2)"]
    assert info.head_text("H0·4") == "H0·4 (kv 0·1)"
    assert DecoderInfo(None, 4, 4).head_label(3) == "H3"  # no grouping, no kv


def test_the_graph_draws_the_staircase_bos_and_gqa_heads(run):
    model, x, expl = run
    n = len(expl.tokens)
    assert expl.tokens[0] == model.tokenizer.bos_token and model.weights.num_kv_heads == 2
    g = x.graph
    texts = list(g.token_labels.text)
    assert texts[0] == "BOS" and texts[-1].endswith("⇒") and "␣Mary" in texts
    heads = list(g.head_labels.text)
    assert heads, "the attention level draws head labels"
    for t in heads:
        m = re.fullmatch(r"H([\d·]+) \(kv ([\d·]+)\)", t)
        assert m, t
        assert [int(q) // 2 for q in m.group(1).split("·")] == [int(k) for k in m.group(2).split("·")]
    # placed with their long text, so they were measured as drawn (no overlap from a late rename)
    assert [h.text for h in g.head_placements] == heads
    assert g.grid.x[-1] == n - 1  # the QoI sits above the last column, where every pattern ends
    # the labels beside the last column stay inside the figure (room was made on the right)
    for h in g.head_placements:
        assert h.x + h.width_px / 2 / g.token_layout.col_px <= g.scales["x"].max, (h, g.scales["x"].max)
    assert "Causal LM" in g.legend.value and "BOS" in g.legend.value
    x.chips.select([5])  # one word: every node left of it is out of its reach
    colors = list(g.grid.colors)
    top = max(g.grid.y)
    for xx, yy, c in zip(g.grid.x, g.grid.y, colors):
        assert c == (UNREACHABLE_COLOR if (xx < 5 and yy != top) else GRID_COLOR), (xx, yy, c)


def test_step_through_and_sentence_mark_the_decoder(run):
    _model, x, expl = run
    x.sentence.redraw()
    assert x.sentence.tokens[0] == "BOS" and x.sentence.tokens[2] == "␣Mary" == "␣" + expl.tokens[2][1:]
    st = x.step_through
    st.graph_shown = True
    st.show_word(4)
    while "via head" not in st.candidates.value and "(kv" not in st.candidates.value and \
            st.step < len(st.stage_list) - 1:
        st.step += 1
    assert "(kv " in st.candidates.value and "via head" not in st.candidates.value
    assert list(st.token_labels.text)[0] == "BOS"
    assert st.grid.x[-1] == len(expl.tokens) - 1
    assert UNREACHABLE_COLOR in list(st.grid.colors)


def test_an_encoder_draws_as_before(mlm):
    x = Explorer(mlm, steps=STEPS)
    x.run()
    assert x.graph.decoder is None and list(x.graph.grid.colors) == [GRID_COLOR]
    assert not any("kv" in t for t in x.graph.head_labels.text)


def test_a_head_label_wider_than_the_room_widens_the_figure(run, monkeypatch):
    from ipyinfluence.widgets import decoder_marks

    _model, x, _expl = run
    g = x.graph
    monkeypatch.setattr(decoder_marks, "RIGHT_ROOM_PX", 0)
    g.select_words(None)  # every word: the last column's node gets the long "H0·1·… (kv …)" label
    g.redraw()
    assert g.head_placements
    for h in g.head_placements:
        assert h.x + h.width_px / 2 / g.token_layout.col_px <= g.scales["x"].max, (h, g.scales["x"].max)
    width = float(g.figure.layout.min_width.rstrip("px"))
    assert width >= g.token_layout.col_px * (g.scales["x"].max - g.scales["x"].min)


def test_the_ranked_list_and_the_drawn_line_write_the_leading_space_as_read(run):
    """Byte-level tokens (``ĠMary``) are written ``␣Mary`` there too, as in the graph."""
    from ipyinfluence.widgets.export import shown_words_text

    _model, x, expl = run
    mary = expl.tokens.index("ĠMary")
    assert "␣Mary" in x.bars.table.value and "ĠMary" not in x.bars.table.value
    assert shown_words_text(expl, [mary]) == f"1 of {len(expl.words)} computed words: ␣Mary ({mary})"
