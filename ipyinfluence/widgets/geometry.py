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
as in the paper), its width is ``|I(x, π_i)|`` at the drawn level as a share of the
sentence's ``|q(x) − q(b)|`` (:func:`~.style.width_reference`: comparable across runs and
methods).

Readability (many tokens, ``top_k > 1``): words whose patterns share a node get their own
*lanes* there (:attr:`Segment.off0`/``off1``, a small horizontal offset in columns), so
two patterns through one column run side by side instead of on top of each other;
:func:`place_head_labels` puts one label per head route on its own edge, never over a
third column and never on another label; :func:`token_rows` staggers the token texts on
two rows when neighbours would touch, and picks the column width (px) that makes them fit.

A node's influence is the pattern's score at that node (the sum over its kept routes at
the attention level); the ``x_i`` node carries ``g_i`` and the QoI node the pattern
influence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from ..results import LEVELS, SKIP, Explanation, Route, WordResult  # LEVELS: one definition, the engine's
from .style import layer_label, route_label, text_width, truncate, width_reference

X_ROW = 0


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
    off0: float = 0.0  # lane offsets (columns) at the start and end node: see assign_lanes
    off1: float = 0.0

    @property
    def drawn(self) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)`` with the lane offsets applied: what is drawn."""
        return (self.x0 + self.off0, self.y0, self.x1 + self.off1, self.y1)

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
            x0, y0, x1, y1 = s.drawn
            if runs and runs[-1][1] == s.style and runs[-1][0][-1] == (x0, y0):
                runs[-1][0].append((x1, y1))
            else:
                runs.append(([(x0, y0), (x1, y1)], s.style))
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
    scale_max: float  # the influence drawn at full width (|q(x) − q(b)|, or the shared one given)
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
        for d in self.words:
            # a head edge may start at a kept node of the embedding level that no route of
            # the layer below entered (top_k > 1): still a node of the picture
            for s in d.segments:
                if s.start not in found and s.start[1] > X_ROW:
                    step = d.word.embedding.steps[s.start[1] - 1]
                    p = int(s.start[0])
                    score = step.scores[p] if p < len(step.scores) else float("nan")
                    self._node(found, s.start).scores.append((d.position, score))
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
        scale_max = width_reference(explanation)
    assign_lanes(words)
    return PatternLayout(tokens=list(explanation.tokens), num_layers=explanation.num_layers, qoi_x=q_x,
                         level=drawn, words=words, scale_max=scale_max,
                         readout_position=explanation.readout_position)


def influence_max(explanations: Sequence[Explanation], level: str = "attention") -> float:
    """The largest pattern influence over several explanations."""
    return max((abs(d.influence) for e in explanations for d in layout(e, level=level).words), default=0.0)


# -- lanes: patterns sharing a node run side by side -----------------------------------------
LANE_SPACING = 0.07  # columns between two neighbouring lanes
LANE_SPREAD = 0.36  # at most this many columns for all the lanes of one node


def lane_offsets(count: int) -> list[float]:
    """Offsets (columns) of ``count`` lanes, centred on the node."""
    if count <= 1:
        return [0.0] * count
    step = min(LANE_SPACING, LANE_SPREAD / (count - 1))
    return [(i - (count - 1) / 2) * step for i in range(count)]


def assign_lanes(words: list[WordDrawing]) -> None:
    """Give every word passing through a node its own lane there (in source-position
    order), and set each segment's end offsets from its two nodes' lanes."""
    through: dict[tuple[float, int], list[int]] = {}
    for d in words:
        for s in d.segments:
            for node in (s.start, s.end):
                users = through.setdefault(node, [])
                if d.position not in users:
                    users.append(d.position)
    lane: dict[tuple[tuple[float, int], int], float] = {}
    for node, users in through.items():
        for p, off in zip(sorted(users), lane_offsets(len(users))):
            lane[(node, p)] = off
    for d in words:
        d.segments = [Segment(s.word, s.x0, s.y0, s.x1, s.y1, s.style, s.route, s.score,
                              lane[(s.start, d.position)], lane[(s.end, d.position)]) for s in d.segments]


# -- token labels -------------------------------------------------------------------------------
TOKEN_FONT_PX = 13
TOKEN_GAP_PX = 8  # at least this much space between two token texts on one row
MIN_COL_PX = 40
MAX_SINGLE_ROW_COL_PX = 72  # above this, stagger on two rows instead of widening further
MAX_TOKEN_CHARS = 14


@dataclass
class TokenRows:
    """How the tokens are written under the grid: ``texts`` (long ones truncated, the
    full token is in the grid node's tooltip), ``rows`` (0: first line, 1: second) and
    the column width ``col_px`` that keeps every pair of texts on one line apart."""

    texts: list[str]
    rows: list[int]
    col_px: float

    @property
    def num_rows(self) -> int:
        return max(self.rows, default=0) + 1


def token_rows(tokens: Sequence[str], font_px: float = TOKEN_FONT_PX, min_col_px: float = MIN_COL_PX,
               max_single_row_col_px: float = MAX_SINGLE_ROW_COL_PX) -> TokenRows:
    """Token texts on one line when columns of at most ``max_single_row_col_px`` hold
    them, else staggered on two lines (0: always two, the compact layout)."""
    texts = [truncate(t, MAX_TOKEN_CHARS) for t in tokens]
    widths = [text_width(t, font_px) for t in texts]
    single = max(((a + b) / 2 + TOKEN_GAP_PX for a, b in zip(widths, widths[1:])), default=0.0)
    if single <= max(min_col_px, max_single_row_col_px):
        return TokenRows(texts, [0] * len(texts), max(min_col_px, single))
    # even positions on the first line, odd on the second: neighbours on a line are 2 columns apart
    double = max(((a + b) / 2 + TOKEN_GAP_PX) / 2 for a, b in zip(widths, widths[2:])) if len(widths) > 2 else 0.0
    return TokenRows(texts, [i % 2 for i in range(len(texts))], max(min_col_px, double, single / 2))


def fitted_token_rows(tokens: Sequence[str], col_px: float, font_px: float = TOKEN_FONT_PX,
                      keep: Iterable[int] = (), lines: int = 2, left_px: Optional[float] = None) -> TokenRows:
    """Token texts for columns of a given width (a graph fitted to the page): texts that
    would touch a neighbour on both of the ``lines`` lines are left out (``""``; the grid
    node's tooltip still names the token). The ``keep`` positions are placed first (the
    picked words, the QoI's column, the pattern's nodes), then the rest left to right, so
    what a person needs to read is never the text that gives way. ``left_px`` (px from
    column 0's centre): no text of the first line reaches left of it (the row names end
    there, level with the first line on a deep model's short rows)."""
    texts = [truncate(t, MAX_TOKEN_CHARS) for t in tokens]
    shown, rows = [""] * len(texts), [0] * len(texts)
    taken: list[list[tuple[float, float]]] = [[] for _ in range(max(1, lines))]
    order = list(dict.fromkeys([p for p in keep if 0 <= p < len(texts)] + list(range(len(texts)))))
    for p in order:
        half = text_width(texts[p], font_px) / 2 + TOKEN_GAP_PX / 2
        lo, hi = p * col_px - half, p * col_px + half
        for line, spans in enumerate(taken):
            if line == 0 and left_px is not None and lo < left_px:
                continue
            if all(hi <= a or lo >= b for a, b in spans):
                spans.append((lo, hi))
                shown[p], rows[p] = texts[p], line
                break
    return TokenRows(shown, rows, col_px)


# -- head labels -------------------------------------------------------------------------------
HEAD_FONT_PX = 11
HEAD_HEIGHT_PX = 13
HEAD_PAD_PX = 3  # between a label and its edge, and between two labels
_ALONG = (0.5, 0.35, 0.65, 0.2, 0.8, 0.12, 0.88)
_ALONG_PATIENT = _ALONG + (0.27, 0.42, 0.58, 0.73, 0.05, 0.95)


@dataclass
class HeadLabel:
    """One label per head route into a node: ``text`` centred at ``(x, y)`` (data units)
    beside the edge ``segment``; ``width_px``/``height_px`` its estimated box."""

    x: float
    y: float
    text: str
    layer: int
    position: int  # the node the route enters
    route: Route
    words: list[int]  # source positions whose patterns take this route
    width_px: float
    height_px: float = HEAD_HEIGHT_PX


def head_routes(lay: "PatternLayout") -> dict[tuple[int, int, Route], list[tuple[WordDrawing, Segment]]]:
    """Head edges grouped by the route they draw: ``(row, target position, head)``."""
    groups: dict[tuple[int, int, Route], list[tuple[WordDrawing, Segment]]] = {}
    for d in lay.words:
        for s in d.segments:
            if s.route is not None and s.route != SKIP:
                groups.setdefault((s.y1, int(s.x1), s.route), []).append((d, s))
    return groups


def place_head_labels(lay: "PatternLayout", col_px: float, row_px: float,
                      font_px: float = HEAD_FONT_PX, pattern_columns_only: bool = False,
                      label_text=None) -> list[HeadLabel]:
    """Place one label per head route (several words taking the same head into the same
    node share it) so that no two labels overlap and none covers a column other than its
    edge's own two. Candidates are points along the edge near the node it enters (the
    most vertical edge first), the text beside the line, right then left. When a node's
    routes do not all find a free spot, the node gets one label listing its heads
    ("H0·3") beside any of its entering edges; a node with no free spot even for that
    gets no label (its edges' tooltips still name the heads) rather than a label drawn
    over another one. ``pattern_columns_only``: a label may cover a column no drawn
    pattern passes through (a graph fitted to the page, whose columns are narrower than
    a label). ``label_text`` rewrites a label before it is measured (a decoder's
    grouped-query heads: ``H3`` → ``H3 (kv 1)``)."""
    label_text = label_text or (lambda t: t)
    placed = _LabelIndex(col_px, row_px)
    columns = range(len(lay.tokens))
    if pattern_columns_only:
        columns = sorted({int(x) for d in lay.words for s in d.segments for x in (s.x0, s.x1)})
    by_node: dict[tuple[int, int], list[tuple[Route, list[tuple[WordDrawing, Segment]]]]] = {}
    for (row, target, route), edges in head_routes(lay).items():
        by_node.setdefault((row, target), []).append((route, edges))
    for (row, target), routes in sorted(by_node.items()):
        routes.sort(key=lambda r: (str(type(r[0])), r[0]))
        tentative: list[HeadLabel] = []
        for route, edges in routes:
            spot = _free_spot(label_text(route_label(route)), row, target, route, edges, placed, col_px, row_px, columns,
                              font_px=font_px)
            if spot is None:
                break
            tentative.append(spot)
            placed.add(spot)
        if len(tentative) == len(routes):
            continue
        for spot in tentative:
            placed.remove(spot)
        every = [e for _, edges in routes for e in edges]
        text = label_text("H" + "·".join(str(r) for r, _ in routes))
        spot = _free_spot(text, row, target, "heads", every, placed, col_px, row_px, columns, patient=True,
                          font_px=font_px)
        if spot is not None:
            placed.add(spot)
    return placed.labels


class _LabelIndex:
    """Placed labels in a grid of 32 × 16 px cells: a new label is only checked against
    the labels in the cells its box (plus the spacing) covers."""

    CELL = (32.0, 16.0)

    def __init__(self, col_px: float, row_px: float):
        self.col_px, self.row_px = col_px, row_px
        self.labels: list[HeadLabel] = []
        self.cells: dict[tuple[int, int], list[HeadLabel]] = {}

    def _keys(self, label: HeadLabel):
        cx, cy = label.x * self.col_px, label.y * self.row_px
        hw, hh = label.width_px / 2 + HEAD_PAD_PX / 2 + 1, label.height_px / 2 + 1
        for i in range(int((cx - hw) // self.CELL[0]), int((cx + hw) // self.CELL[0]) + 1):
            for j in range(int((cy - hh) // self.CELL[1]), int((cy + hh) // self.CELL[1]) + 1):
                yield (i, j)

    def add(self, label: HeadLabel) -> None:
        self.labels.append(label)
        for key in self._keys(label):
            self.cells.setdefault(key, []).append(label)

    def remove(self, label: HeadLabel) -> None:
        self.labels.remove(label)
        for key in self._keys(label):
            self.cells[key].remove(label)

    def hits(self, label: HeadLabel) -> bool:
        return any(_overlap(label, other, self.col_px, self.row_px)
                   for key in self._keys(label) for other in self.cells.get(key, ()))


def _free_spot(text: str, row: int, target: int, route, edges, placed: "_LabelIndex", col_px: float,
               row_px: float, columns, patient: bool = False, font_px: float = HEAD_FONT_PX) -> Optional[HeadLabel]:
    w = text_width(text, font_px, bold=True)
    h = font_px + HEAD_HEIGHT_PX - HEAD_FONT_PX
    words = sorted({e[0].position for e in edges})
    # the edge to label: the most vertical one (its own column), then the nearest source
    ordered = sorted(edges, key=lambda e: (abs(e[1].x1 - e[1].x0), e[0].position))
    for d, s in (ordered if patient else ordered[:1]):
        x0, y0, x1, y1 = s.drawn
        own = {int(s.x0), int(s.x1)}
        dx = abs(s.x1 - s.x0)
        # on a sideways edge the label sits within half a column of the node it enters
        if dx == 0:
            along = _ALONG_PATIENT if patient else _ALONG
        else:
            along = tuple(1 - f / dx for f in ((0.3, 0.2, 0.4, 0.12, 0.45, 0.06) if patient else (0.3, 0.2, 0.4)))
        for t in along:
            px, py = x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
            for side in (1, -1):
                cx = px + side * (w / 2 + HEAD_PAD_PX) / col_px
                label = HeadLabel(cx, py, text, row - 1, target, route, words, w, h)
                if _covers_other_column(label, col_px, own, columns):
                    continue
                if placed.hits(label):
                    continue
                return label
    return None


ROW_LABEL_EDGE = -0.6  # columns: the row names (h⁰, h¹, …) end left of this


def _covers_other_column(label: HeadLabel, col_px: float, own: set[int], columns) -> bool:
    """True when the label would cover a third column, or reach into the row names."""
    half = label.width_px / 2 / col_px
    lo, hi = label.x - half, label.x + half
    return lo < ROW_LABEL_EDGE or any(lo <= c <= hi for c in columns if c not in own)


def _overlap(a: HeadLabel, b: HeadLabel, col_px: float, row_px: float) -> bool:
    dx = abs(a.x - b.x) * col_px
    dy = abs(a.y - b.y) * row_px
    return dx < (a.width_px + b.width_px) / 2 + HEAD_PAD_PX and dy < (a.height_px + b.height_px) / 2 + 1
