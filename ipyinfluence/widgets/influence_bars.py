"""``InfluenceBars``: per source word, its total influence ``g_i`` and its embedding- and
attention-level pattern influences ``I(x, π^e_i)``, ``I(x, π^a_i)`` side by side
(grouped bqplot ``Bars``), so the share of ``g_i`` a single pattern carries is visible
at a glance (the paper's concentration).

Words not computed yet (streaming) have zero-height bars; the attention series is left
out when the results have no attention level.
"""

from __future__ import annotations

import html
import threading
from typing import Optional

import ipywidgets as widgets
import numpy as np
import traitlets
from bqplot import Axis, Bars, Figure, LinearScale, OrdinalScale, Tooltip

from ..results import Explanation, WordResult
from .style import fmt

SERIES = ("total g_i", "embedding pattern I(π^e)", "attention pattern I(π^a)")
SERIES_COLORS = ("#7f7f7f", "#4c72b0", "#dd8452")  # neutral: bar sign shows in its direction


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
        x_axis = Axis(scale=self.x_scale, tick_rotate=-35, tick_style={"font-size": "11px"})
        y_axis = Axis(scale=self.y_scale, side="left", tick_format=".2~g")
        self.figure = Figure(marks=[self.bars], axes=[x_axis, y_axis], animation_duration=0,
                             fig_margin=dict(top=10, bottom=60, left=70, right=10),
                             layout=widgets.Layout(width="100%", height=height))
        self.figure.add_class("ipyinfluence-bars-figure")
        self.caption = widgets.HTML()
        super().__init__([self.caption, self.figure], **kwargs)
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

    def _redraw(self) -> None:
        expl = self.explanation
        if expl is None:
            with self.bars.hold_sync():
                self.bars.x, self.bars.y = [], []
            self.caption.value = ""
            return
        labels, values, names = bar_values(expl)
        with self.bars.hold_sync():
            self.bars.x = labels
            self.bars.y = values
            self.bars.labels = names
            self.bars.colors = list(SERIES_COLORS[:len(names)])
        if self._own_y:
            lo, hi = self.value_range()
            with self.y_scale.hold_sync():
                self.y_scale.min, self.y_scale.max = lo, hi
        done = len(expl.words)
        gap = expl.completeness_gap if expl.complete and expl.readout_position is None else None
        text = (f"Influence per source word ({done}/{len(expl.sources)} computed). "
                f"q(x) − q(baseline) = {fmt(expl.q_input - expl.q_baseline)}")
        if gap is not None:
            text += f"; Σ g_i − (q(x) − q(b)) = {fmt(gap)}"
        self.summary = text
        # the legend lives in the caption: bqplot's legend box covers the bars
        legend = " ".join(f"<span style='color:{c}'>■</span> {html.escape(n)}" for n, c in zip(names, SERIES_COLORS))
        self.caption.value = f"<small>{legend}<br>{html.escape(text)}</small>"
