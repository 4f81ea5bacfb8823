"""InfluenceBars: grouped bars of g_i and the pattern influences."""

from __future__ import annotations

import dataclasses

import numpy as np

from ipyinfluence.results import Explanation
from ipyinfluence.widgets import InfluenceBars
from ipyinfluence.widgets.influence_bars import bar_values


def test_values_per_source_word(known):
    b = InfluenceBars(known)
    assert list(b.bars.x) == ["0:[CLS]", "1:the", "2:author", "4:happy", "5:[SEP]"]
    y = np.asarray(b.bars.y)
    assert y.shape == (3, 5) and b.bars.type == "grouped"
    np.testing.assert_allclose(y[:, 2], [0.5, 0.4, 0.35])  # author: g, I(π^e), I(π^a)
    np.testing.assert_allclose(y[:, 3], [-0.2, -0.1, -0.08])
    np.testing.assert_allclose(y[:, 0], 0.0)  # [CLS] not computed
    assert b.y_scale.min < -0.2 and b.y_scale.max > 0.5
    assert "2/5 computed" in b.summary


def test_streaming_and_embedding_only(known):
    words = list(known.words)
    known.words = []
    b = InfluenceBars(known)
    assert np.count_nonzero(np.asarray(b.bars.y)) == 0
    b.add_word(words[1])
    assert np.count_nonzero(np.asarray(b.bars.y)) == 0  # recorded; drawn by redraw()
    b.redraw()
    assert np.asarray(b.bars.y)[0, 3] == -0.2
    emb = Explanation.from_dict({**known.to_dict(), "level": "embedding"})
    emb.words = [words[0]]
    labels, values, names = bar_values(emb)
    assert values.shape == (2, 5) and len(names) == 2  # no attention series
    assert "ipyinfluence-bars" in b._dom_classes


def test_labels_and_one_colour_meaning(known):
    """Series are grey shades (hue means sign everywhere), names use unicode π^e, labels
    are vertical with a bottom margin that holds the longest one, and 40 words keep
    MIN_BAR_PX each (the box scrolls instead of squeezing)."""
    from ipyinfluence.widgets.influence_bars import MIN_BAR_PX
    from ipyinfluence.widgets.style import PALETTES, SERIES_COLORS, text_width

    b = InfluenceBars(known)
    assert list(b.bars.labels) == ["total gᵢ", "embedding pattern I(πᵉ)", "attention pattern I(πᵃ)"]
    assert "π^" not in b.caption.value and "πᵉ" in b.caption.value
    sign_colors = {c for p in PALETTES.values() for c in p.values()}
    assert not set(SERIES_COLORS) & sign_colors
    for c in SERIES_COLORS:  # achromatic
        assert c[1:3] == c[3:5] == c[5:7]
    assert b.x_axis.tick_rotate == -90
    assert b.figure.fig_margin["bottom"] >= max(text_width(t, 11) for t in b.bars.x)
    # a drawing-only stand-in (40 sources, no words): from_dict would refuse a source at the readout position
    long = dataclasses.replace(known, tokens=[f"tok{i}" for i in range(40)], sources=list(range(40)), words=[])
    b.set_explanation(long)
    assert int(b.figure.layout.min_width.rstrip("px")) >= 40 * MIN_BAR_PX
    assert "auto" in b.scroller.layout.overflow
