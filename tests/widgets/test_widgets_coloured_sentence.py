"""ColouredSentence: tokens shaded ∝ g_i, escaped in HTML, a click selects the word."""

from __future__ import annotations

import pytest

from ipyinfluence.results import Explanation
from ipyinfluence.widgets import ColouredSentence
from ipyinfluence.widgets.coloured_sentence import sentence_css, sentence_html, token_shades
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


def _rule(view, position: int) -> str:
    """The style rule the view's sheet gives the token at ``position``."""
    css = view.legend.value
    marker = f".{view.scope} .widget-toggle-button:nth-child({position + 1}){{"
    assert css.count(marker) >= 1, css
    return "".join(part.split("}")[0] for part in css.split(marker)[1:])


def test_widget_click_selects_and_calls_back(known):
    view = ColouredSentence(known)
    picked = []
    view.on_select(picked.append)
    assert view.tokens == known.tokens and view.scope in view.tokens_widget._dom_classes
    assert "pointer-events:none" in _rule(view, 0) and "pointer-events" not in _rule(view, 2)  # [CLS]: no g yet
    assert f"background:{view.shades[2]}" in _rule(view, 2) and view.shades[0] is None
    assert "g = " in view.tooltips[2] and "not computed" in view.tooltips[0]
    view.click(4)
    assert picked == [4] and view.selected == 4 and view.tokens_widget.index is None  # ready for the next click
    assert "font-weight:bold" in _rule(view, 4) and "happy" in view.legend.value
    view.click(0)  # not computed: ignored, state kept
    assert picked == [4] and view.selected == 4
    with pytest.raises(ValueError, match="not a computed source word"):
        view.select(1)
    view.palette = "colorblind"
    assert view.shades[2] == token_shades(known, "colorblind")[2] and f"background:{view.shades[2]}" in _rule(view, 2)
    view.set_explanation(None)
    assert view.selected is None and view.tokens == []


def test_a_redraw_is_two_messages_whatever_the_length(known):
    """One ToggleButtons for the tokens and one style sheet: a redraw sends the tooltips and
    the sheet, not a message per token (issue 10.8)."""
    long = Explanation.from_dict(known.to_dict())
    long.tokens = long.tokens * 10
    view = ColouredSentence(long)
    sent = []
    for w in (view.tokens_widget, view.legend):
        w._send = lambda msg, buffers=None, w=w: sent.append((type(w).__name__, sorted(msg.get("state", {}))))
    for w in long.words:
        w.total_influence *= 2
    view.redraw()
    assert sent == [("ToggleButtons", ["tooltips"]), ("HTML", ["value"])]


def test_style_sheet_holds_no_token_text():
    css = sentence_css("scope-1", ["#ff0000", None], selected=0)
    assert css.startswith("<style>") and css.count("<") == 2  # only the opening and closing tags
    assert ".scope-1 .widget-toggle-button:nth-child(1){background:#ff0000 !important}" in css
    assert ".scope-1 .widget-toggle-button:nth-child(2){opacity:0.55;cursor:default;pointer-events:none}" in css


def test_hostile_tokens_are_escaped(known):
    hostile = Explanation.from_dict(known.to_dict())
    hostile.tokens[2] = "<img src=x onerror=alert(1)>"
    hostile.words[0].token = hostile.tokens[2]
    page = sentence_html(hostile)
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    view = ColouredSentence(hostile)
    # a ToggleButtons label is set as plain text in the front end: the token is kept as written
    assert view.tokens[2] == hostile.tokens[2]
    assert "<img" not in view.legend.value
    view.select(2)
    assert "<img" not in view.legend.value and "&lt;img" in view.legend.value
