"""``ColouredSentence``: the sentence with each token shaded by its influence ``g_i``
(the view people read instantly in Captum's ``visualize_text``), clickable to pick the
word whose pattern is shown.

The shade is the word's sign colour (the same palette as the pattern graph: one colour
meaning per view set) mixed into white in proportion to ``|g_i| / reference``, where the
reference is the largest ``|g_i|`` of the sentence, or one shared by several sentences
(:class:`CompareView`). Tokens that are not source words, or not computed yet, stay white
and cannot be clicked.

In a notebook every token is a ``Button`` (its text is set as plain text by the front
end, so a hostile token cannot inject markup); :func:`sentence_html` renders the same
picture as static, escaped HTML for the exports (no script, no network).

View protocol (as every Explorer view): ``set_explanation(expl_or_None)``,
``add_word(word)``, ``redraw()``; ``on_select(callback)`` registers
``callback(position)`` for clicks, ``selected`` holds the picked position.
"""

from __future__ import annotations

import html
import math
from typing import Optional

import ipywidgets as widgets
import traitlets

from ..results import Explanation, WordResult
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
        spans.append(f"<span class='ipyinfluence-token' data-position='{p}' title='{html.escape(title, quote=True)}' "
                     f"style='background:{bg or '#ffffff'};color:{TEXT_COLOR};padding:1px 4px;margin:1px;"
                     f"border-radius:3px;display:inline-block;{outline}'>{html.escape(tok)}</span>")
    legend = (f"<small>shade = gᵢ as a share of max |gᵢ| = {html.escape(fmt(ref).lstrip('+'))}: "
              f"{sign_legend_html(palette)}</small>")
    return f"<div class='ipyinfluence-sentence'>{''.join(spans)}<br>{legend}</div>"


class ColouredSentence(PickingView, widgets.VBox):
    """The sentence shaded by ``g_i``; clicking a computed word selects it."""

    selected = traitlets.Int(None, allow_none=True)
    palette = traitlets.Enum(tuple(PALETTES), "paper")
    reference = traitlets.Float(None, allow_none=True)  # shared |g| scale (CompareView); None: own

    def __init__(self, explanation: Optional[Explanation] = None, *, palette: str = "paper",
                 reference: Optional[float] = None, **kwargs):
        self._init_view()
        self.buttons: list[widgets.Button] = []
        self.tokens_box = widgets.HBox([], layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        self.tokens_box.add_class("ipyinfluence-sentence-tokens")
        self.legend = widgets.HTML()
        self.legend.add_class("ipyinfluence-sentence-legend")
        super().__init__([self.tokens_box, self.legend], **kwargs)
        self.add_class("ipyinfluence-sentence")
        self.palette = check_palette(palette)
        self.reference = reference
        self.observe(lambda _c: self.redraw(), names=["palette", "reference", "selected"])
        self.set_explanation(explanation)

    # -- view protocol ----------------------------------------------------------------
    def set_explanation(self, explanation: Optional[Explanation]) -> None:
        with self._lock:
            self.explanation = explanation
            tokens = explanation.tokens if explanation is not None else []
            if [b.description for b in self.buttons] != list(tokens):
                self.buttons = [self._button(p, t) for p, t in enumerate(tokens)]
                self.tokens_box.children = self.buttons
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

    # -- drawing ----------------------------------------------------------------------
    def _button(self, position: int, token: str) -> widgets.Button:
        # description is plain text in the front end: a token cannot inject markup
        b = widgets.Button(description=token, layout=widgets.Layout(width="auto", height="26px", margin="1px",
                                                                    padding="0 5px"))
        b.add_class("ipyinfluence-token")
        b.add_class(f"ipyinfluence-token-{position}")
        b.on_click(lambda _b, p=position: self._on_click(p))
        return b

    def _on_click(self, position: int) -> None:
        try:
            self.select(position)
        except Exception:  # noqa: BLE001 - a widget never dies; an uncomputed word is not clickable
            pass

    def _redraw(self) -> None:
        expl = self.explanation
        if expl is None:
            self.legend.value = ""
            return
        ref = self.reference or g_reference(expl)
        palette = self.palette if self.palette in PALETTES else "paper"
        by_pos = {w.position: w for w in expl.words}
        shades = token_shades(expl, palette, ref)
        for p, (b, bg) in enumerate(zip(self.buttons, shades)):
            w = by_pos.get(p)
            with b.hold_sync():
                b.style.button_color = bg or "#ffffff"
                b.style.text_color = TEXT_COLOR
                b.style.font_weight = "bold" if p == self.selected else "normal"
                b.style.text_decoration = "underline" if p == self.selected else "none"
                b.disabled = w is None
                b.tooltip = (f"{expl.tokens[p]} (position {p}): g = {fmt(w.total_influence)}; click to show its "
                             "pattern" if w is not None else f"{expl.tokens[p]} (position {p}): not computed")
        picked = ""
        if self.selected is not None and self.selected in by_pos:
            w = by_pos[self.selected]
            picked = (f" · <span style='background:{HIGHLIGHT_COLOR}'>selected: {html.escape(w.token)}"
                      f"<sub>{w.position}</sub>, g = {html.escape(fmt(w.total_influence))}</span>")
        self.legend.value = (f"<small>shade = gᵢ as a share of max |gᵢ| = {html.escape(fmt(ref).lstrip('+'))}: "
                             f"{sign_legend_html(palette)}; click a word to show its pattern{picked}</small>")
