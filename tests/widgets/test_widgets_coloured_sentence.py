"""ColouredSentence: tokens shaded ∝ g_i, escaped in HTML, a click selects the word."""

from __future__ import annotations

import pytest

from ipyinfluence.results import Explanation
from ipyinfluence.widgets import ColouredSentence
from ipyinfluence.widgets.coloured_sentence import sentence_html, token_shades
from ipyinfluence.widgets.style import PALETTES


def _strength(color: str) -> float:
    """How far a shade is from white (0: white), per channel mean."""
    return sum(255 - int(color[i:i + 2], 16) for i in (1, 3, 5)) / 3


def test_shades_follow_g(known):
    # author g = +0.5 (the largest |g|), happy g = -0.2; others not computed
    shades = token_shades(known)
    assert shades[0] is None and shades[1] is None and shades[3] is None
    author, happy = shades[2], shades[4]
    green, red = PALETTES["paper"]["positive"], PALETTES["paper"]["negative"]
    # hue from the sign: the shade lies between white and the sign colour
    assert _strength(author) / _strength(green) == pytest.approx(0.85, abs=0.02)
    assert _strength(happy) / _strength(red) == pytest.approx(0.85 * 0.2 / 0.5, abs=0.02)
    # a shared reference (CompareView) makes both paler
    assert _strength(token_shades(known, reference=1.0)[2]) < _strength(author)


def test_widget_click_selects_and_calls_back(known):
    view = ColouredSentence(known)
    picked = []
    view.on_select(picked.append)
    assert [b.description for b in view.buttons] == known.tokens
    assert view.buttons[0].disabled and not view.buttons[2].disabled  # [CLS] has no g yet
    view.buttons[4].click()
    assert picked == [4] and view.selected == 4
    assert view.buttons[4].style.font_weight == "bold" and "happy" in view.legend.value
    view.buttons[0].click()  # not computed: ignored, state kept
    assert picked == [4] and view.selected == 4
    with pytest.raises(ValueError, match="not a computed source word"):
        view.select(1)
    view.palette = "colorblind"
    assert view.buttons[2].style.button_color == token_shades(known, "colorblind")[2]
    view.set_explanation(None)
    assert view.selected is None


def test_hostile_tokens_are_escaped(known):
    hostile = Explanation.from_dict(known.to_dict())
    hostile.tokens[2] = "<img src=x onerror=alert(1)>"
    hostile.words[0].token = hostile.tokens[2]
    page = sentence_html(hostile)
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    view = ColouredSentence(hostile)
    # a Button's description is plain text in the front end: the token is kept as written
    assert view.buttons[2].description == hostile.tokens[2]
    assert "<img" not in view.legend.value
    view.select(2)
    assert "<img" not in view.legend.value and "&lt;img" in view.legend.value
