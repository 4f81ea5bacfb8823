"""``InfluenceBars``: per source word, its total influence ``g_i`` and its embedding- and
attention-level pattern influences ``I(x, π^e_i)``, ``I(x, π^a_i)`` side by side
(grouped bqplot ``Bars``), so the share of ``g_i`` a single pattern carries is visible
at a glance (the paper's concentration).

Words not computed yet (streaming) have zero-height bars; the attention series is left
out when the results have no attention level.

Readable at 40 words: the x labels are written vertically (so their boxes never meet at
the column pitch) with a bottom margin as tall as the longest label (never clipped), and
the figure keeps at least :data:`MIN_BAR_PX` per word, scrolling sideways in its box
instead of squeezing. One colour meaning: the series are grey shades (hue means the
sign of an influence in every view, see :mod:`.style`).
"""

from __future__ import annotations

import threading
from typing import Optional

import ipywidgets as widgets
import numpy as np
import traitlets
from bqplot import Axis, Bars, Figure, LinearScale, OrdinalScale, Tooltip

from ..results import Explanation, WordResult
from .decoder_marks import shown_token
from .escape import esc
from .style import SERIES_COLORS, SERIES_NAMES, fmt, text_width

SERIES = SERIES_NAMES
TICK_FONT_PX = 11
MIN_BAR_PX = 28  # per word: a vertical label is ~14 px wide
MARGIN = dict(top=10, left=70, right=10)


def bar_label(position: int, token: str) -> str:
    """Unique x label of a source word (tokens repeat: 'the' twice)."""
    return f"{position}:{token}"


def bar_values(explanation: Explanation) -> tuple[list[str], np.ndarray, list[str]]:
    """x labels, the ``(series, words)`` heights, and the series names for ``explanation``."""
    by_pos = {w.position: w for w in explanation.words}
    has_attention = explanation.level == "attention" and any(w.attention is not None for w in explanation.words)
    names = list(SERIES if has_attention else SERIES[:2])
    labels, rows = [], []
    for p in explanation.sources:
        w: Optional[WordResult] = by_pos.get(p)
        labels.append(bar_label(p, explanation.tokens[p]))
        if w is None:
            rows.append([0.0] * len(names))
            continue
        row = [w.total_influence, w.embedding.influence]
        if has_attention:
            row.append(w.attention.influence if w.attention is not None else 0.0)
        rows.append(row)
    values = np.array(rows, dtype=float).T if rows else np.zeros((len(names), 0))
    return labels, values, names


class InfluenceBars(widgets.VBox):
    """Grouped bars of ``g_i`` and the pattern influences of every source word.

    ``set_explanation(expl)``, ``add_word(word)`` (streaming). ``y_scale`` may be shared
    with another chart (see :class:`CompareView`); then the caller sets its range.
    """

    summary = traitlets.Unicode("")

    def __init__(self, explanation: Optional[Explanation] = None, *, y_scale: Optional[LinearScale] = None,
                 height: str = "260px", **kwargs):
        self._own_y = y_scale is None
        self.x_scale = OrdinalScale()
        self.y_scale = y_scale or LinearScale()
        self.explanation: Optional[Explanation] = None
        self._lock = threading.RLock()  # a background run and the main thread may redraw at once
        self.bars = Bars(x=[], y=[], scales={"x": self.x_scale, "y": self.y_scale}, type="grouped",
                         colors=list(SERIES_COLORS), labels=list(SERIES[:2]), display_legend=False,
                         tooltip=Tooltip(fields=["x", "y"], formats=["", ".3g"]))
        self.x_axis = Axis(scale=self.x_scale, tick_rotate=-90, tick_style={"font-size": f"{TICK_FONT_PX}px"})
        y_axis = Axis(scale=self.y_scale, side="left", tick_format=".2~g")
        self._plot_height = int(float(str(height).rstrip("px")))
        self.figure = Figure(marks=[self.bars], axes=[self.x_axis, y_axis], animation_duration=0,
                             fig_margin=dict(MARGIN, bottom=60), layout=widgets.Layout(width="100%", height=height))
        self.figure.add_class("ipyinfluence-bars-figure")
        self.scroller = widgets.Box([self.figure], layout=widgets.Layout(width="100%", overflow="auto hidden"))
        self.scroller.add_class("ipyinfluence-bars-scroll")
        self.caption = widgets.HTML()
        super().__init__([self.caption, self.scroller], **kwargs)
        self.add_class("ipyinfluence-bars")
        if explanation is not None:
            self.set_explanation(explanation)

    def set_explanation(self, explanation: Optional[Explanation]) -> None:
        self.explanation = explanation
        self.redraw()

    def add_word(self, word: WordResult) -> None:
        if self.explanation is None:
            raise ValueError("call set_explanation(explanation) before add_word: the bars need the sources.")
        self.explanation.put_word(word)  # drawn by the next redraw() (the view protocol, see .views)

    def value_range(self) -> tuple[float, float]:
        """The y range that shows every bar (0 included)."""
        if self.explanation is None:
            return (-1.0, 1.0)
        _, values, _ = bar_values(self.explanation)
        lo = min(0.0, float(values.min()) if values.size else 0.0)
        hi = max(0.0, float(values.max()) if values.size else 0.0)
        if lo == hi:
            return (-1.0, 1.0)
        pad = 0.08 * (hi - lo)
        return (lo - pad if lo < 0 else lo, hi + pad if hi > 0 else hi)

    def redraw(self) -> None:
        with self._lock:
            self._redraw()

    def _fit_size(self, labels: list[str]) -> None:
        """At least MIN_BAR_PX per word (the box scrolls when the page is narrower) and a
        bottom margin that holds the longest vertical label."""
        bottom = round(max((text_width(t, TICK_FONT_PX) for t in labels), default=20) + 16)
        width = round(MIN_BAR_PX * max(1, len(labels)) + MARGIN["left"] + MARGIN["right"])
        with self.figure.hold_sync():
            if self.figure.fig_margin.get("bottom") != bottom:
                self.figure.fig_margin = dict(MARGIN, bottom=bottom)
            self.figure.layout.min_width = f"{width}px"
            self.figure.layout.height = f"{self._plot_height - 60 + bottom}px"

    def _redraw(self) -> None:
        expl = self.explanation
        if expl is None:
            with self.bars.hold_sync():
                self.bars.x, self.bars.y = [], []
            self.caption.value = ""
            return
        labels, values, names = bar_values(expl)
        self._fit_size(labels)
        with self.bars.hold_sync():
            self.bars.x = labels
            self.bars.y = values
            self.bars.labels = names
            self.bars.colors = list(SERIES_COLORS[:len(names)])
        if self._own_y:
            lo, hi = self.value_range()
            with self.y_scale.hold_sync():
                self.y_scale.min, self.y_scale.max = lo, hi
        done = sum(1 for w in expl.words if w.embedding.steps)  # a stand-in with only g_i has none
        gap = expl.completeness_gap if expl.complete and expl.readout_position is None else None
        text = (f"Influence per source word ({done}/{len(expl.sources)} computed). "
                f"q(x) − q(baseline) = {fmt(expl.q_input - expl.q_baseline)}")
        if gap is not None:
            text += f"; Σ g_i − (q(x) − q(b)) = {fmt(gap)}"
        self.summary = text
        # the legend lives in the caption: bqplot's legend box covers the bars
        legend = " ".join(f"<span style='color:{c}'>■</span> {esc(n)}" for n, c in zip(names, SERIES_COLORS))
        self.caption.value = f"<small>{legend}<br>{esc(text)}</small>"


# -- the ranked list (the Explorer's) ---------------------------------------------------------
RANKED_SHOWN = 10  # rows before "… n more"
RANKED_HALF_PX = 70  # a bar's half width: the zero line is in the middle of its cell


def _bar_cell(value: float, reference: float, color: str) -> str:
    """A horizontal bar from the cell's middle (the zero line): right for a positive value,
    left for a negative one; never over any text (the value has its own cell)."""
    share = min(1.0, abs(value) / reference) if reference > 0 and np.isfinite(value) else 0.0
    width = round(RANKED_HALF_PX * share, 1)
    side = f"left:{RANKED_HALF_PX}px" if value >= 0 else f"left:{RANKED_HALF_PX - width}px"
    return (f"<td class='bar'><div style='position:relative;width:{2 * RANKED_HALF_PX}px;height:12px'>"
            f"<div class='zero' style='position:absolute;left:{RANKED_HALF_PX - 0.5}px;top:-2px;width:1px;"
            f"height:16px;background:#888'></div>"
            f"<div class='value-bar' style='position:absolute;{side};top:1px;width:{width}px;height:10px;"
            f"background:{color}'></div></div></td>")


class RankedInfluence(widgets.VBox):
    """The words ranked by ``|g_i|``, each with its ``g_i``, ``I(π^e)`` and ``I(π^a)`` as
    horizontal bars around one zero line and its values written beside them: the
    Explorer's bar view (issue 19.8: the vertical bar chart's rotated labels straddled the
    axis, gridlines cut them, negative bars covered them, long labels were truncated, the
    baseline could sit off the 0 tick, and its columns did not line up with the graph's).
    Plain HTML, every token escaped and written whole. ``selected`` positions (the picked
    words) are highlighted. View protocol: ``set_explanation``, ``add_word``, ``redraw``."""

    summary = traitlets.Unicode("")
    selected = traitlets.List(traitlets.Int(), allow_none=True, default_value=None)

    def __init__(self, explanation: Optional[Explanation] = None, *, presentation: bool = False, **kwargs):
        self.explanation: Optional[Explanation] = None
        self.presentation = bool(presentation)
        self._lock = threading.RLock()
        self.caption = widgets.HTML()
        self.table = widgets.HTML()
        self.table.add_class("ipyinfluence-ranked")
        super().__init__([self.caption, self.table], **kwargs)
        self.add_class("ipyinfluence-bars")
        self.observe(lambda _c: self.redraw(), names="selected")
        if explanation is not None:
            self.set_explanation(explanation)

    def set_explanation(self, explanation: Optional[Explanation]) -> None:
        self.explanation = explanation
        self.redraw()

    def add_word(self, word: WordResult) -> None:
        if self.explanation is None:
            raise ValueError("call set_explanation(explanation) before add_word: the list needs the sources.")
        self.explanation.put_word(word)

    def redraw(self) -> None:
        with self._lock:
            self._redraw()

    def ranked(self) -> list[WordResult]:
        """The computed words, largest ``|g_i|`` first."""
        if self.explanation is None:
            return []
        return sorted(self.explanation.words, key=lambda w: (-abs(w.total_influence), w.position))

    def _redraw(self) -> None:
        expl = self.explanation
        if expl is None:
            self.caption.value = self.table.value = ""
            self.summary = ""
            return
        _labels, _values, names = bar_values(expl)
        words = self.ranked()
        attention = len(names) == 3
        values = [[w.total_influence, w.embedding.influence]
                  + ([w.attention.influence if w.attention is not None else float("nan")] if attention else [])
                  for w in words]
        reference = max((abs(v) for row in values for v in row if np.isfinite(v)), default=0.0) or 1.0
        picked = set(self.selected or [])
        font = 15 if self.presentation else 13

        def row(rank: int, w: WordResult, vals: list[float]) -> str:
            bg = " style='background:#fff3c4;font-weight:bold'" if w.position in picked else ""
            cells = "".join(_bar_cell(v, reference, c) + f"<td class='value'>{esc(fmt(v))}</td>"
                            for v, c in zip(vals, SERIES_COLORS))
            return (f"<tr class='word' data-position='{w.position}'{bg}><td class='rank'>{rank}</td>"
                    f"<td class='token'>{esc(shown_token(w.token))} <small>({w.position})</small></td>{cells}</tr>")

        head = "<tr><th>#</th><th>word</th>" + "".join(
            f"<th colspan='2'><span style='color:{c}'>■</span> {esc(n)}</th>" for n, c in zip(names, SERIES_COLORS)) \
            + "</tr>"
        style = (f"<style>.ipyinfluence-ranked table{{border-collapse:collapse;font-size:{font}px}}"
                 ".ipyinfluence-ranked td,.ipyinfluence-ranked th{padding:1px 6px;white-space:nowrap;"
                 "text-align:left}.ipyinfluence-ranked td.value{text-align:right;font-variant-numeric:tabular-nums}"
                 "</style>")
        rows = [row(i + 1, w, v) for i, (w, v) in enumerate(zip(words, values))]
        table = f"<table>{head}{''.join(rows[:RANKED_SHOWN])}</table>"
        if len(rows) > RANKED_SHOWN:
            table += (f"<details><summary>… {len(rows) - RANKED_SHOWN} more words</summary>"
                      f"<table>{head}{''.join(rows[RANKED_SHOWN:])}</table></details>")
        self.table.value = style + table
        gap = expl.completeness_gap if expl.complete and expl.readout_position is None else None
        done = sum(1 for w in expl.words if w.embedding.steps)  # a stand-in with only g_i has no pattern yet
        text = (f"Words ranked by |gᵢ| ({done}/{len(expl.sources)} computed); bars share one scale, "
                f"|value| = {fmt(reference).lstrip('+')} at full length. "
                f"q(x) − q(baseline) = {fmt(expl.q_input - expl.q_baseline)}")
        if gap is not None:
            text += f"; Σ g_i − (q(x) − q(b)) = {fmt(gap)}"
        self.summary = text
        self.caption.value = f"<small>{esc(text)}</small>"
