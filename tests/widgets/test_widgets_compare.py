"""CompareView: explanations side by side on shared scales."""

from __future__ import annotations

import pytest

from ipyinfluence import TokenContrast
from ipyinfluence.results import Explanation
from ipyinfluence.widgets import CompareView


def _scaled(known: Explanation, factor: float) -> Explanation:
    other = Explanation.from_dict(known.to_dict())
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
    assert g1.scale_max == g2.scale_max == pytest.approx(4 * 0.35)
    # the same pattern is drawn thinner where it is weaker
    assert g1.word_lines[2]["solid"].stroke_width < g2.word_lines[2]["solid"].stroke_width
    assert view.bar_scale.max >= 4 * 0.5 and view.bar_scale.min <= 4 * -0.2
    assert "weak" in view.titles[0].value and "ipyinfluence-compare" in view._dom_classes


def test_three_way_selection_and_options(known):
    view = CompareView(known, _scaled(known, 2.0), _scaled(known, -1.0), selected=[4])
    assert len(view.graphs) == 3
    assert all([d.position for d in g.layout_data.words] == [4] for g in view.graphs)
    assert view.graphs[0].scale_max == pytest.approx(2 * 0.08)  # only the shown word counts
    view.level = "embedding"
    assert all(g.drawn_level == "embedding" for g in view.graphs)
    assert view.graphs[0].scale_max == pytest.approx(2 * 0.1)
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
