"""Where every node and edge of an influence-pattern picture goes, in data coordinates.

Pure Python on top of :mod:`ipyinfluence.results`, so the live bqplot graph and the
standalone SVG export draw exactly the same picture (and tests can check it without a
browser).

Layout (paper Figure 3): token positions are columns (``x = position``); layers are
rows, the word embedding ``x_i`` at the bottom (row 0), ``h^l`` on row ``l + 1`` and the
QoI on top (row ``L + 2``). The QoI node sits above its readout position when it reads
one (the [MASK] of a ``TokenContrast``), else in the middle of the sentence (pooled or
[CLS]-based QoIs).

Edges of one word's pattern, bottom to top:

* ``x_i -> h^0_i`` (solid, the embedding layer);
* embedding level: ``h^{l-1}_j -> h^l_k`` between every kept node of consecutive layers
  (one path for GPR, ``top_k`` nodes per layer for the extension);
* attention level: each kept route into ``h^l_k``: a skip is a dashed vertical edge from
  ``h^{l-1}_k``; a head ``h`` is a solid edge from each previous kept node, labelled with
  the head index;
* ``h^L_k -> q`` (solid).

Choices: a word's colour is its sign ``σ_i`` (positively / negatively influential word,
as in the paper), its width is ``|I(x, π_i)|`` at the drawn level relative to the
largest one shown. A node's influence is the pattern's score at that node (the sum over
its kept routes at the attention level); the ``x_i`` node carries ``g_i`` and the QoI
node the pattern influence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from ..results import SKIP, Explanation, Route, WordResult
from .style import layer_label

X_ROW = 0
LEVELS = ("embedding", "attention")


def hidden_row(layer: int) -> int:
    """Row of ``h^layer``."""
    return layer + 1


def qoi_row(num_layers: int) -> int:
    return num_layers + 2


def row_labels(num_layers: int) -> list[str]:
    """Labels of rows ``0 .. L + 2``: ``x``, ``h⁰`` … ``h^L``, ``QoI``."""
    return ["x"] + [layer_label(l) for l in range(num_layers + 1)] + ["QoI"]


def qoi_x(explanation: Explanation) -> float:
    if explanation.readout_position is not None:
        return float(explanation.readout_position)
    return (len(explanation.tokens) - 1) / 2


def drawn_level(explanation: Explanation, level: str) -> str:
    """The level actually drawn: attention only when the results have it."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}; got {level!r}.")
    if level == "attention" and explanation.level == "attention" and \
            all(w.attention is not None for w in explanation.words):
        return "attention"
    return "embedding"


@dataclass(frozen=True)
class Segment:
    """One edge of a word's pattern, from ``(x0, y0)`` up to ``(x1, y1)``."""

    word: int  # source position
    x0: float
    y0: int
    x1: float
    y1: int
    style: str  # "solid" | "dashed"
    route: Optional[Route]  # None off the attention level; "skip" or a head index on it
    score: float  # the pattern's influence at the arriving node

    @property
    def start(self) -> tuple[float, int]:
        return (self.x0, self.y0)

    @property
    def end(self) -> tuple[float, int]:
        return (self.x1, self.y1)

    @property
    def midpoint(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)


@dataclass
class WordDrawing:
    word: WordResult
    level: str
    influence: float  # I(x, π_i) at the drawn level
    segments: list[Segment]

    @property
    def position(self) -> int:
        return self.word.position

    @property
    def sign(self) -> int:
        return self.word.sign

    def polylines(self) -> list[tuple[list[tuple[float, int]], str]]:
        """Segments chained into polylines: a run continues while the next segment starts
        where the last ended and has the same style. A GPR pattern at the embedding level
        is one polyline of ``L + 3`` points."""
        runs: list[tuple[list[tuple[float, int]], str]] = []
        for s in self.segments:
            if runs and runs[-1][1] == s.style and runs[-1][0][-1] == s.start:
                runs[-1][0].append(s.end)
            else:
                runs.append(([s.start, s.end], s.style))
        return runs


@dataclass
class NodeInfo:
    """A pattern node and the influence each shown word's pattern has through it."""

    x: float
    row: int
    position: Optional[int]  # None for a pooled QoI
    scores: list[tuple[int, float]] = field(default_factory=list)  # (source position, score)


@dataclass
class PatternLayout:
    tokens: list[str]
    num_layers: int
    qoi_x: float
    level: str
    words: list[WordDrawing]
    scale_max: float  # largest |influence| among the shown words (or the shared one given)
    readout_position: Optional[int] = None

    @property
    def num_rows(self) -> int:
        return self.num_layers + 3

    def grid(self) -> list[tuple[float, int]]:
        """Every node of the graph: N per row for ``x`` and ``h^0..h^L``, plus the QoI."""
        n = len(self.tokens)
        points = [(float(p), r) for r in range(hidden_row(self.num_layers) + 1) for p in range(n)]
        return points + [(self.qoi_x, qoi_row(self.num_layers))]

    def nodes(self) -> list[NodeInfo]:
        """Unique nodes on the shown patterns, bottom row first, then by position."""
        found: dict[tuple[float, int], NodeInfo] = {}
        top = qoi_row(self.num_layers)
        for d in self.words:
            first = d.segments[0] if d.segments else None
            if first is not None:
                self._node(found, first.start).scores.append((d.position, d.word.total_influence))
            seen: set[tuple[float, int]] = set()
            for s in d.segments:
                if s.end in seen:
                    continue  # several edges into one node share its score
                seen.add(s.end)
                score = s.score if s.end[1] != top else d.influence
                if d.level == "attention" and 1 < s.end[1] < top:
                    # the node's influence is the sum over its kept routes
                    score = sum(c.score for c in _attention_step(d.word, s.end[1] - 1).chosen
                                if c.position == int(s.end[0]))
                self._node(found, s.end).scores.append((d.position, score))
        return sorted(found.values(), key=lambda n: (n.row, n.x))

    def _node(self, found: dict, key: tuple[float, int]) -> NodeInfo:
        if key not in found:
            position = self.readout_position if key[1] == qoi_row(self.num_layers) else int(key[0])
            found[key] = NodeInfo(x=key[0], row=key[1], position=position)
        return found[key]


def _attention_step(word: WordResult, layer: int):
    for s in word.attention.steps:
        if s.layer == layer:
            return s
    raise KeyError(layer)


def word_drawing(word: WordResult, num_layers: int, q_x: float, level: str) -> WordDrawing:
    """The edges of one word's pattern (see the module doc)."""
    i, emb = word.position, word.embedding
    top = qoi_row(num_layers)
    segs = [Segment(i, float(i), X_ROW, float(i), hidden_row(0), "solid", None, emb.steps[0].scores[i])]
    if level == "attention" and word.attention is not None:
        last: list[int] = list(emb.steps[0].chosen)
        for step in word.attention.steps:
            lo, hi = hidden_row(step.layer - 1), hidden_row(step.layer)
            for c in step.chosen:
                if c.route == SKIP:
                    segs.append(Segment(i, float(c.position), lo, float(c.position), hi, "dashed", SKIP, c.score))
                else:
                    for src in step.source_positions:
                        segs.append(Segment(i, float(src), lo, float(c.position), hi, "solid", c.route, c.score))
            last = list(dict.fromkeys(c.position for c in step.chosen))
        influence = word.attention.influence
    else:
        level = "embedding"
        for prev, step in zip(emb.steps, emb.steps[1:]):
            lo, hi = hidden_row(prev.layer), hidden_row(step.layer)
            for j in prev.chosen:
                for k in step.chosen:
                    segs.append(Segment(i, float(j), lo, float(k), hi, "solid", None, step.scores[k]))
        last = list(emb.steps[-1].chosen)
        influence = emb.influence
    for k in last:
        segs.append(Segment(i, float(k), hidden_row(num_layers), q_x, top, "solid", None, influence))
    return WordDrawing(word=word, level=level, influence=influence, segments=segs)


def layout(explanation: Explanation, selected: Optional[Iterable[int]] = None, level: str = "attention",
           scale_max: Optional[float] = None) -> PatternLayout:
    """The picture of ``explanation``'s patterns for the ``selected`` source positions
    (all computed words when None) at ``level`` (falls back to the embedding level when
    the results have no attention level)."""
    drawn = drawn_level(explanation, level)
    keep = None if selected is None else set(selected)
    q_x = qoi_x(explanation)
    words = [word_drawing(w, explanation.num_layers, q_x, drawn) for w in explanation.words
             if keep is None or w.position in keep]
    if scale_max is None:
        scale_max = max((abs(d.influence) for d in words), default=0.0)
    return PatternLayout(tokens=list(explanation.tokens), num_layers=explanation.num_layers, qoi_x=q_x,
                         level=drawn, words=words, scale_max=scale_max,
                         readout_position=explanation.readout_position)


def influence_max(explanations: Sequence[Explanation], level: str = "attention") -> float:
    """The largest pattern influence over several explanations: a shared width scale."""
    return max((abs(d.influence) for e in explanations for d in layout(e, level=level).words), default=0.0)
