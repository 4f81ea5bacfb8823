"""CompareView: explanations side by side on shared scales."""

from __future__ import annotations

import pytest

from ipyinfluence import TokenContrast
from ipyinfluence.results import Explanation
from ipyinfluence.widgets import CompareView


def _scaled(known: Explanation, factor: float) -> Explanation:
    other = Explanation.from_dict(known.to_dict())
    other.q_input = other.q_baseline + factor * (known.q_input - known.q_baseline)
    for w in other.words:
        w.total_influence *= factor
        w.embedding.influence *= factor
        w.attention.influence *= factor
    return other


def test_shared_scales(known):
    strong = _scaled(known, 4.0)
    view = CompareView([known, strong], titles=["weak", "strong"])
    g1, g2 = view.graphs
    assert g1.scales is g2.scales and view.bar_charts[0].y_scale is view.bar_charts[1].y_scale
    assert g1.figure.layout.min_width == g2.figure.layout.min_width  # same columns, same width
    # one width scale: the larger |q(x) − q(b)| of the two sentences
    assert g1.scale_max == g2.scale_max == pytest.approx(4 * 0.8)
    # the same pattern is drawn thinner where it is weaker
    assert g1.word_lines[2]["solid"].stroke_width < g2.word_lines[2]["solid"].stroke_width
    assert view.bar_scale.max >= 4 * 0.5 and view.bar_scale.min <= 4 * -0.2
    assert "weak" in view.titles[0].value and "ipyinfluence-compare" in view._dom_classes
    # the coloured sentences share one |g_i| scale: the weak sentence is paler
    s1, s2 = view.sentences
    assert s1.reference == s2.reference == pytest.approx(4 * 0.5)
    assert s1.shades[2] != s2.shades[2] and f"background:{s2.shades[2]}" in s2.legend.value
    # clicking a word shows that position's pattern in every graph
    s2.click(4)
    assert all([d.position for d in g.layout_data.words] == [4] for g in view.graphs)
    assert s1.selected == s2.selected == 4
    view.show_all_button.click()
    assert all(len(g.layout_data.words) == 2 for g in view.graphs) and s1.selected is None


def test_three_way_selection_and_options(known):
    view = CompareView(known, _scaled(known, 2.0), _scaled(known, -1.0), selected=[4])
    assert len(view.graphs) == 3
    assert all([d.position for d in g.layout_data.words] == [4] for g in view.graphs)
    assert view.graphs[0].scale_max == pytest.approx(2 * 0.8)  # the largest |q(x) − q(b)|
    view.level = "embedding"
    assert all(g.drawn_level == "embedding" for g in view.graphs)
    assert view.graphs[0].scale_max == pytest.approx(2 * 0.8)
    view.palette = "colorblind"
    assert all(g.palette == "colorblind" for g in view.graphs)
    view.select_words(None)
    assert all(len(g.layout_data.words) == 2 for g in view.graphs)


def test_bad_arguments(known):
    with pytest.raises(ValueError, match="at least two"):
        CompareView([known])
    with pytest.raises(TypeError, match="Explanation"):
        CompareView(known, "the movie")
    with pytest.raises(ValueError, match="titles"):
        CompareView(known, known, titles=["one"])


def test_from_texts(mlm):
    view = CompareView.from_texts(mlm, ["the guards [MASK] happy .", "the guard [MASK] happy ."],
                                  TokenContrast("is", "are"), steps=3)
    texts = [e.text for e in view.explanations]
    assert texts == ["the guards [MASK] happy .", "the guard [MASK] happy ."]
    assert all(e.complete for e in view.explanations)
