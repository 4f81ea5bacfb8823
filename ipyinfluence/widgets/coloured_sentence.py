"""``ColouredSentence``: the sentence with each token shaded by its influence ``g_i``
(the view people read instantly in Captum's ``visualize_text``), clickable to pick the
word whose pattern is shown.

The shade is the word's sign colour (the same palette as the pattern graph: one colour
meaning per view set) mixed into white in proportion to ``|g_i| / reference``, where the
reference is the largest ``|g_i|`` of the sentence, or one shared by several sentences
(:class:`CompareView`). Tokens that are not source words, or not computed yet, stay white
and cannot be clicked.

In a notebook the tokens are the buttons of one ``ToggleButtons`` widget (the front end
sets each label as plain text, so a hostile token cannot inject markup) and the shades
are one generated style sheet (:func:`sentence_css`, only colours and numbers, never a
token) in the legend's ``HTML``: a redraw is two widget messages whatever the length.
A ``Button`` per token cost 7 messages per token per redraw (style traits go one by
one) plus 3 widget creations: at 36 tokens ~360 messages, ~0.2 s of the 0.75 s from Run
to the last word drawn in JupyterLab (issue 10.8). :func:`sentence_html` renders the
same picture as static, escaped HTML for the exports (no script, no network).

View protocol (as every Explorer view): ``set_explanation(expl_or_None)``,
``add_word(word)``, ``redraw()``; ``on_select(callback)`` registers
``callback(position)`` for clicks, ``selected`` holds the picked position.
"""

from __future__ import annotations

import math
import uuid
from typing import Optional

import ipywidgets as widgets
import traitlets

from . import decoder_marks
from ..results import Explanation
from .escape import esc
from .style import HIGHLIGHT_COLOR, PALETTES, TEXT_COLOR, check_palette, fmt, shade, sign_legend_html
from .views import PickingView


def g_reference(explanation: Optional[Explanation]) -> float:
    """The ``|g_i|`` drawn at full strength: the largest one computed (1.0 when none)."""
    if explanation is None:
        return 1.0
    g = max((abs(w.total_influence) for w in explanation.words if math.isfinite(w.total_influence)), default=0.0)
    return g if g > 0 else 1.0


def token_shades(explanation: Explanation, palette: str = "paper",
                 reference: Optional[float] = None) -> list[Optional[str]]:
    """Background colour per token position: None for tokens without a computed ``g_i``."""
    ref = reference if reference else g_reference(explanation)
    by_pos = {w.position: w for w in explanation.words}
    return [shade(by_pos[p].total_influence, ref, palette) if p in by_pos else None
            for p in range(len(explanation.tokens))]


def sentence_html(explanation: Explanation, palette: str = "paper", reference: Optional[float] = None,
                  selected: Optional[int] = None) -> str:
    """The coloured sentence as static HTML (every token escaped, inline styles only)."""
    ref = reference if reference else g_reference(explanation)
    by_pos = {w.position: w for w in explanation.words}
    spans = []
    for p, (tok, bg) in enumerate(zip(explanation.tokens, token_shades(explanation, palette, ref))):
        w = by_pos.get(p)
        title = f"position {p}" + (f": g = {fmt(w.total_influence)}" if w is not None else " (not computed)")
        outline = "outline:2px solid #222;" if p == selected else ""
        spans.append(f"<span class='ipyinfluence-token' data-position='{p}' title='{esc(title)}' "
                     f"style='background:{bg or '#ffffff'};color:{TEXT_COLOR};padding:1px 4px;margin:1px;"
                     f"border-radius:3px;display:inline-block;{outline}'>{esc(tok)}</span>")
    legend = (f"<small>shade = gᵢ as a share of max |gᵢ| = {esc(fmt(ref).lstrip('+'))}: "
              f"{sign_legend_html(palette)}</small>")
    return f"<div class='ipyinfluence-sentence'>{''.join(spans)}<br>{legend}</div>"


def sentence_css(scope: str, shades: list[Optional[str]], selected: Optional[int] = None) -> str:
    """The style sheet that shades the tokens of the sentence widget whose DOM class is
    ``scope``: the ``n``-th button gets the ``n``-th shade; a token without one (not a
    source word, or not computed yet) is greyed and takes no clicks. Only colours from the
    palette and positions go in: no token text."""
    button = f".{scope} .widget-toggle-button"
    rules = [
        f".{scope} > div{{display:flex;flex-wrap:wrap;align-items:center}}",
        f"{button}{{width:auto;min-width:0;height:26px;margin:1px;padding:0 5px;border-radius:3px;"
        f"background:#ffffff !important;color:{TEXT_COLOR};box-shadow:none !important;font-weight:normal;"
        "text-decoration:none}",
    ]
    for p, bg in enumerate(shades):
        rule = (f"background:{bg} !important" if bg is not None
                else "opacity:0.55;cursor:default;pointer-events:none")
        rules.append(f"{button}:nth-child({p + 1}){{{rule}}}")
    if selected is not None:
        rules.append(f"{button}:nth-child({int(selected) + 1}){{font-weight:bold;text-decoration:underline;"
                     "outline:2px solid #222222}")
    return "<style>" + "\n".join(rules) + "</style>"


class ColouredSentence(PickingView, widgets.VBox):
    """The sentence shaded by ``g_i``; clicking a computed word selects it.

    ``shades`` (per position: the background drawn, None where the token takes no click)
    and ``tooltips`` hold what was last pushed to the browser."""

    selected = traitlets.Int(None, allow_none=True)
    palette = traitlets.Enum(tuple(PALETTES), "paper")
    reference = traitlets.Float(None, allow_none=True)  # shared |g| scale (CompareView); None: own

    def __init__(self, explanation: Optional[Explanation] = None, *, palette: str = "paper",
                 reference: Optional[float] = None, **kwargs):
        self._init_view()
        self.shades: list[Optional[str]] = []
        self.scope = f"ipyinfluence-sentence-{uuid.uuid4().hex[:10]}"  # scopes the style sheet to this widget
        self.tokens_widget = widgets.ToggleButtons(
            options=[], index=None, style={"button_width": "auto"}, layout=widgets.Layout(width="100%"),
            _dom_classes=("ipyinfluence-sentence-tokens", self.scope))
        self.tokens_widget.observe(self._on_index, names="index")
        self._quiet = False
        self.legend = widgets.HTML()
        self.legend.add_class("ipyinfluence-sentence-legend")
        super().__init__([self.tokens_widget, self.legend], **kwargs)
        self.add_class("ipyinfluence-sentence")
        self.palette = check_palette(palette)
        self.reference = reference
        self.observe(lambda _c: self.redraw(), names=["palette", "reference", "selected"])
        self.set_explanation(explanation)

    @property
    def tokens(self) -> list[str]:
        return list(self.tokens_widget._options_labels)

    @property
    def tooltips(self) -> list[str]:
        return list(self.tokens_widget.tooltips)

    # -- view protocol ----------------------------------------------------------------
    def set_explanation(self, explanation: Optional[Explanation]) -> None:
        with self._lock:
            self.explanation = explanation
            tokens = decoder_marks.sentence_labels(self, explanation.tokens if explanation is not None else [])
            if self.tokens != list(tokens):
                self._quiet = True
                try:
                    self.tokens_widget.options = [(t, p) for p, t in enumerate(tokens)]
                    self.tokens_widget.index = None
                finally:
                    self._quiet = False
            if self.selected is not None and (explanation is None or self.selected >= len(tokens)):
                self.selected = None
        self.redraw()

    def select(self, position: Optional[int]) -> None:
        """Select the word at ``position`` (None: none) and tell the callbacks."""
        if position is not None:
            position = int(position)
            if self.explanation is None or not any(w.position == position for w in self.explanation.words):
                raise ValueError(f"position {position} is not a computed source word.")
        self.selected = position
        if position is not None:
            self._select(position)

    def click(self, position: int) -> None:
        """What a click on the token at ``position`` does in the browser (for tests and
        scripts): the front end sets the widget's ``index``."""
        self.tokens_widget.index = int(position)

    # -- drawing ----------------------------------------------------------------------
    def _on_index(self, change) -> None:
        if self._quiet or change["new"] is None:
            return
        try:
            self.select(change["new"])
        except Exception:  # noqa: BLE001 - a widget never dies; an uncomputed word is not clickable
            pass
        finally:
            self._quiet = True  # back to no toggle "on": the selection is drawn by the style sheet
            try:
                self.tokens_widget.index = None
            finally:
                self._quiet = False

    def _redraw(self) -> None:
        expl = self.explanation
        if expl is None:
            self.shades = []
            self.legend.value = ""
            return
        ref = self.reference or g_reference(expl)
        palette = self.palette if self.palette in PALETTES else "paper"
        by_pos = {w.position: w for w in expl.words}
        self.shades = token_shades(expl, palette, ref)
        self.tokens_widget.tooltips = [
            f"{tok} (position {p}): g = {fmt(by_pos[p].total_influence)}; click to show its pattern" if p in by_pos
            else f"{tok} (position {p}): not computed" for p, tok in enumerate(expl.tokens)]
        picked = ""
        if self.selected is not None and self.selected in by_pos:
            w = by_pos[self.selected]
            picked = (f" · <span style='background:{HIGHLIGHT_COLOR}'>selected: {esc(w.token)}"
                      f"<sub>{w.position}</sub>, g = {esc(fmt(w.total_influence))}</span>")
        self.legend.value = (sentence_css(self.scope, self.shades, self.selected) +
                             f"<small>shade = gᵢ as a share of max |gᵢ| = {esc(fmt(ref).lstrip('+'))}: "
                             f"{sign_legend_html(palette)}; click a word to show its pattern{picked}</small>")
