"""``CompareView``: explanations side by side on shared scales.

The paper compares sentences that differ in one word ("I love / like / hate this movie")
and finds the patterns of the changed word differ in shape and strength. Comparing
strengths only works on one scale, so the pattern graphs share their axes and their
line-width scale (the largest ``|q(x) − q(b)|`` of the sentences: a width means the same
share everywhere), the bar charts share one y scale, and the coloured sentences above
the graphs share one ``|g_i|`` scale. Clicking a word in any sentence shows that
position's pattern in every graph ("show all" brings every word back).
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

import ipywidgets as widgets
import traitlets
from bqplot import LinearScale

from ..explanation_stream import explain
from ..results import Explanation
from .coloured_sentence import ColouredSentence, g_reference
from .escape import esc
from .influence_bars import InfluenceBars
from .pattern_graph import PatternGraph
from .style import fmt, shared_width_reference


class CompareView(widgets.VBox):
    """Several explanations side by side on shared scales (usually two or three).

    ``CompareView([expl_a, expl_b, ...])`` or ``CompareView(expl_a, expl_b)``;
    ``CompareView.from_texts(model, [text_a, text_b], qoi, **explain_kwargs)`` computes
    them. ``selected`` (source positions, None: all) and ``level`` / ``palette`` apply to
    every graph.
    """

    level = traitlets.Unicode("attention")
    palette = traitlets.Unicode("paper")

    def __init__(self, *explanations: Any, titles: Optional[Sequence[str]] = None,
                 selected: Optional[Iterable[int]] = None, level: str = "attention", palette: str = "paper",
                 bars: bool = True, **kwargs):
        pair = _flatten(explanations)
        self.graph_scales = {"x": LinearScale(), "y": LinearScale()}
        self.bar_scale = LinearScale()
        n = len(pair)
        self.graphs = [PatternGraph(level=level, palette=palette, selected=selected, scales=self.graph_scales,
                                    height="400px") for _ in range(n)]
        self.bar_charts = [InfluenceBars(y_scale=self.bar_scale, height="230px") for _ in range(n)]
        self.titles = [widgets.HTML() for _ in range(n)]
        self.sentences = [ColouredSentence(palette=palette) for _ in range(n)]
        for sentence in self.sentences:
            sentence.on_select(lambda p: self.select_words([p]))
        self.show_all_button = widgets.Button(description="show all words", layout=widgets.Layout(width="140px"),
                                              tooltip="draw every word's pattern again")
        self.show_all_button.add_class("ipyinfluence-compare-show-all")
        self.show_all_button.on_click(lambda _b: self.select_words(None))
        if titles is not None and len(titles) != n:
            raise ValueError(f"{len(titles)} titles for {n} explanations.")
        self._custom_titles = list(titles) if titles is not None else None
        columns = []
        for i in range(n):
            parts = [self.titles[i], self.sentences[i], self.graphs[i]] + ([self.bar_charts[i]] if bars else [])
            col = widgets.VBox(parts, layout=widgets.Layout(width=f"{100 / n:.2f}%"))
            col.add_class("ipyinfluence-compare-side")
            columns.append(col)
        super().__init__([self.show_all_button, widgets.HBox(columns, layout=widgets.Layout(width="100%"))],
                         **kwargs)
        self.add_class("ipyinfluence-compare")
        self.level, self.palette = level, palette
        self.observe(self._on_option, names=["level", "palette"])
        self.set_explanations(pair)

    @classmethod
    def from_texts(cls, model: Any, texts: Sequence[str], qoi: Any, *, titles: Optional[Sequence[str]] = None,
                   selected: Optional[Iterable[int]] = None, level: str = "attention", palette: str = "paper",
                   **explain_kwargs) -> "CompareView":
        """Explain every text with the same model and QoI, then compare them."""
        results = [explain(model, t, qoi, level=level, **explain_kwargs) for t in texts]
        return cls(results, titles=titles, selected=selected, level=level, palette=palette)

    @property
    def explanations(self) -> list[Explanation]:
        return [g.explanation for g in self.graphs]

    def select_words(self, positions: Optional[Iterable[int]]) -> None:
        """Draw only these source positions in every graph (None: all)."""
        for g in self.graphs:
            g.select_words(positions)
        keep = None if positions is None else [int(p) for p in positions]
        for sentence in self.sentences:
            sentence.selected = keep[0] if keep is not None and len(keep) == 1 and sentence.explanation is not None \
                and keep[0] < len(sentence.explanation.tokens) else None
        self._share_width()

    def set_explanations(self, *explanations: Any) -> None:
        """Replace the shown explanations (as many as the view was built with)."""
        pair = _flatten(explanations)
        if len(pair) != len(self.graphs):
            raise ValueError(f"this view compares {len(self.graphs)} explanations; got {len(pair)}.")
        # shared axes first: each graph sizes its figure from them
        self.graphs[0].fit_scales(max(len(e.tokens) for e in pair), max(e.num_layers for e in pair))
        for i, (graph, bars, expl) in enumerate(zip(self.graphs, self.bar_charts, pair)):
            graph.set_explanation(expl)
            bars.set_explanation(expl)
            self.sentences[i].set_explanation(expl)
            title = self._custom_titles[i] if self._custom_titles else expl.text
            self.titles[i].value = (f"<b>{esc(title)}</b><br><small>{esc(expl.qoi)}: "
                                    f"q(x) − q(b) = {fmt(expl.q_input - expl.q_baseline)}</small>")
        self._share_width()
        ranges = [b.value_range() for b in self.bar_charts]
        with self.bar_scale.hold_sync():
            self.bar_scale.min = min(r[0] for r in ranges)
            self.bar_scale.max = max(r[1] for r in ranges)

    def _share_width(self) -> None:
        """One line-width scale (the largest |q(x) − q(b)|) and one |g_i| shade scale."""
        shown = [g.explanation for g in self.graphs if g.explanation is not None]
        shared = shared_width_reference(shown)
        for g in self.graphs:
            g.scale_max = shared
        g_shared = max((g_reference(e) for e in shown), default=1.0)
        for sentence in self.sentences:
            sentence.reference = g_shared

    def _on_option(self, change) -> None:
        for g in self.graphs:
            setattr(g, change["name"], change["new"])
        if change["name"] == "palette":
            for sentence in self.sentences:
                sentence.palette = change["new"]
        if change["name"] == "level":
            self._share_width()


def _flatten(explanations: Sequence[Any]) -> list[Explanation]:
    if len(explanations) == 1 and isinstance(explanations[0], (list, tuple)):
        explanations = tuple(explanations[0])
    items = list(explanations)
    if len(items) < 2:
        raise ValueError(f"CompareView compares at least two explanations; got {len(items)}.")
    for e in items:
        if not isinstance(e, Explanation):
            raise TypeError(f"CompareView takes Explanation objects (from explain()); got {type(e).__name__}.")
    return items
