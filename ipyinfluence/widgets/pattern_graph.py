"""``PatternGraph``: the influence patterns of an explanation drawn as in the paper's
Figure 3, live in a notebook (bqplot).

Layers are rows (``x`` at the bottom, ``h^0..h^L``, the QoI on top), token positions are
columns, the tokens are written under the grid. Each shown word's pattern is a chain of
edges coloured by the word's sign (green/red, or blue/orange with
``palette="colorblind"``) and as wide as its ``|I(x, π)|``; at the attention level skip
routes are dashed and head routes solid, labelled with the head index. See
:mod:`ipyinfluence.widgets.geometry` for the exact layout.

Why these marks: bqplot's ``Graph`` mark does not draw links added after its first
render and has no dashed or labelled edges, so the picture is built from ``Scatter``
(nodes; ``names_unique=False`` since tokens repeat), ``Lines`` and ``Label`` (tokens, rows,
head numbers). The lines are a FIXED set of ``Lines`` marks made once, one per line style
(solid / dashed) and width step (:data:`~.style.DRAWN_WIDTHS`): each holds every 2-point
segment of that style and width as one row of its 2-D ``x``/``y`` (bqplot draws one path
per row, coloured per row). A redraw only re-sends the data of the marks that changed and
the figure's mark list never changes (a new mark per word meant a new widget model and
view per word, and a changed ``marks`` list makes bqplot rebuild its marks: at 36 tokens
that was most of the browser's time). :attr:`PatternGraph.word_lines` says where each
word's segments are. Hovering a node or an edge's midpoint shows its influence (the points'
``names`` feed a ``Tooltip``); clicking a node fills :attr:`detail` with the candidate
scores GPR chose among at that layer. Every redraw is batched with ``hold_sync``.

Readable at 40 tokens and ``top_k > 1``: the figure never squeezes a column below the
width its token texts need (:func:`~.geometry.token_rows`, at least 40 px; texts staggered
on two lines when neighbours would touch) and scrolls horizontally inside its box instead;
patterns through a shared node run in lanes; head labels are placed one per route beside
their own edge, never over another label or a third column
(:func:`~.geometry.place_head_labels`). Widths are shares of ``|q(x) − q(b)|``
(comparable across methods and runs), with the scale drawn in the legend.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Iterable, Optional

import ipywidgets as widgets
import numpy as np
import traitlets
from bqplot import Figure, Label, Lines, LinearScale, Scatter, Tooltip

from ..results import SKIP, Explanation, WordResult
from .decoder_marks import decorate_graph
from .details import node_details
from .escape import error_html, esc
from .geometry import (HEAD_FONT_PX, LEVELS, TOKEN_FONT_PX, PatternLayout, Segment, TokenRows, WordDrawing,
                       fitted_token_rows, layout, place_head_labels, qoi_row, row_labels, token_rows)
from .style import (DRAWN_WIDTHS, GRID_COLOR, NODE_COLOR, PALETTES, TEXT_COLOR, drawn_width, fmt, line_width,
                    sign_color, sign_legend_html, text_width, width_legend_html)

TOKEN_ROW_Y = -0.45  # the first line of token texts sits under the x row
TOKEN_LINE = 0.36  # rows between two lines of token texts
ROW_LABEL_X = -0.75  # row names sit left of column 0
MARGIN = dict(top=12, bottom=8, left=12, right=12)
LINE_STYLES = ("solid", "dashed")
ROW_FONT_PX = 12
# presentation=True (a projector at the back of a room): larger type, larger nodes
PRESENTATION_FONTS = dict(token=17, head=14, row=15)
PRESENTATION_HEIGHT = "560px"
FIT_PX = 820  # a fitted graph's least width: JupyterLab at 1280 px with its file browser open shows 848


@dataclass(frozen=True)
class WordLines:
    """Where one word's segments of one line style are drawn: rows ``rows`` of the shared
    ``mark`` (None when the word has no segment of that style). ``x``, ``y``, ``colors``
    and ``stroke_width`` read the mark itself, i.e. what the browser is sent."""

    mark: Optional[Lines]
    rows: tuple[int, ...]
    line_style: str

    def _rows_of(self, values) -> np.ndarray:
        # bqplot squeezes a single row's (1, 2) arrays to (2,)
        return np.asarray(values, dtype=float).reshape(-1, 2)[list(self.rows)] if self.rows else np.zeros((0, 2))

    @property
    def x(self) -> np.ndarray:
        return self._rows_of(self.mark.x) if self.mark is not None else np.zeros((0, 2))

    @property
    def y(self) -> np.ndarray:
        return self._rows_of(self.mark.y) if self.mark is not None else np.zeros((0, 2))

    @property
    def colors(self) -> list[str]:
        return [self.mark.colors[r] for r in self.rows] if self.mark is not None else []

    @property
    def labels(self) -> list[str]:
        return [self.mark.labels[r] for r in self.rows] if self.mark is not None else []

    @property
    def stroke_width(self) -> Optional[float]:
        return None if self.mark is None else self.mark.stroke_width


def row_px_for(num_layers: int) -> float:
    """Pixels per layer row: roomy for small models, at least 34 px for deep ones."""
    return max(34.0, min(60.0, 440.0 / (num_layers + 4)))


def y_range(num_layers: int, token_lines: int) -> tuple[float, float]:
    return TOKEN_ROW_Y - TOKEN_LINE * (token_lines - 1) - 0.4, qoi_row(num_layers) + 0.45


def figure_size(num_tokens: int, num_layers: int, rows: TokenRows) -> tuple[float, float, float]:
    """``(width_px, height_px, row_px)`` of a graph that gives every column ``rows.col_px``."""
    row_px = row_px_for(num_layers)
    lo, hi = y_range(num_layers, rows.num_rows)
    width = rows.col_px * (num_tokens + 0.75) + MARGIN["left"] + MARGIN["right"]
    height = row_px * (hi - lo) + MARGIN["top"] + MARGIN["bottom"]
    return round(width), round(height), row_px


def _segments_xy(segments: list[Segment]) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([[s.drawn[0], s.drawn[2]] for s in segments], dtype=float).reshape(-1, 2)
    y = np.array([[s.y0, s.y1] for s in segments], dtype=float).reshape(-1, 2)
    return x, y


def _edge_text(d: WordDrawing, s: Segment, labels: list[str], tokens: list[str]) -> str:
    lo = f"{labels[s.y0]}[{int(s.x0)}]"
    hi = "QoI" if s.y1 == len(labels) - 1 else f"{labels[s.y1]}[{int(s.x1)}]"
    via = "" if s.route is None else (" skip" if s.route == SKIP else f" head {s.route}")
    return f"{d.word.token}_{d.position}: {lo} → {hi}{via} · influence {fmt(s.score)}"


class PatternGraph(widgets.VBox):
    """Influence patterns of one :class:`~ipyinfluence.results.Explanation`.

    ``set_explanation(expl)`` shows a (possibly still streaming) explanation,
    ``add_word(word_result)`` adds one word as it arrives, ``select_words(positions)``
    picks which source words are drawn (None: all). Traits: ``level`` (display level,
    "embedding" | "attention"; attention falls back to embedding when the results lack
    it), ``palette`` ("paper" | "colorblind"), ``selected``, ``detail`` (HTML of the
    last clicked node). ``scales``/``scale_max`` let several graphs share axes and the
    width scale (see :class:`CompareView`); ``scale_max`` None draws widths as shares of
    the explanation's own ``|q(x) − q(b)|``. ``height`` None sizes the figure from the
    model's depth (the fixed default never resizes a drawn figure, which would redraw
    every line once more); the width always follows the tokens (``min_col_px`` per column at
    least), scrolling horizontally when the page is narrower; ``compact=True`` writes the
    tokens on two lines so columns can be narrower (fewer head labels fit: the rest are
    merged per node or left to the tooltips).
    """

    level = traitlets.Unicode("attention")
    palette = traitlets.Unicode("paper")
    selected = traitlets.List(traitlets.Int(), allow_none=True, default_value=None)
    scale_max = traitlets.Float(None, allow_none=True)
    detail = traitlets.Unicode("")

    def __init__(self, explanation: Optional[Explanation] = None, *, level: str = "attention",
                 palette: str = "paper", selected: Optional[Iterable[int]] = None, scales: Optional[dict] = None,
                 scale_max: Optional[float] = None, height: Optional[str] = "430px", min_col_px: float = 40.0,
                 compact: bool = False, fit_px: Optional[float] = None, presentation: bool = False, **kwargs):
        self.presentation = bool(presentation)
        if self.presentation and height == "430px":
            height = PRESENTATION_HEIGHT
        self._height = height
        # fit_px: every column in this many px (the figure never widens, so it is never drawn
        # squeezed before a resize, issue 19.3); token texts that do not fit give way
        self.fit_px = None if fit_px is None else float(fit_px)
        fonts = PRESENTATION_FONTS if self.presentation else dict(token=TOKEN_FONT_PX, head=HEAD_FONT_PX,
                                                                   row=ROW_FONT_PX)
        self.token_font_px, self.head_font_px, self.row_font_px = fonts["token"], fonts["head"], fonts["row"]
        self.compact = compact  # token texts always on two lines: narrower columns (a 40-token page)
        self.min_col_px = float(min_col_px)
        self.token_layout: Optional[TokenRows] = None
        self.head_placements = []
        self.row_px = 50.0
        self.token_line = TOKEN_LINE  # rows between two lines of token texts
        self._own_scales = scales is None
        self.scales = scales or {"x": LinearScale(min=-1.0, max=1.0), "y": LinearScale(min=-1.0, max=1.0)}
        self.explanation: Optional[Explanation] = None
        self.layout_data: Optional[PatternLayout] = None
        self.word_lines: dict[int, dict[str, WordLines]] = {}  # position -> line style -> its rows
        self._node_keys: list[tuple[int, Optional[int]]] = []
        self._lock = threading.RLock()  # a background run and a chip click may redraw at once
        sc = self.scales
        self.grid = Scatter(x=[], y=[], scales=sc, colors=[GRID_COLOR], default_size=28, names=[],
                            names_unique=False, display_names=False,
                            tooltip=Tooltip(fields=["name"], show_labels=False))
        self.edge_handles = Scatter(x=[], y=[], scales=sc, colors=[NODE_COLOR], default_size=14, names=[],
                                    names_unique=False, display_names=False, opacities=[0.55],
                                    tooltip=Tooltip(fields=["name"], show_labels=False))
        self.nodes = Scatter(x=[], y=[], scales=sc, colors=[NODE_COLOR], default_size=48, names=[],
                             names_unique=False, display_names=False, stroke="white",
                             tooltip=Tooltip(fields=["name"], show_labels=False))
        self.head_labels = Label(x=[], y=[], text=[], scales=sc, colors=[TEXT_COLOR], default_size=self.head_font_px,
                                 font_weight="bold", align="middle", y_offset=4, apply_clip=False)
        self.token_labels = Label(x=[], y=[], text=[], scales=sc, colors=[TEXT_COLOR], default_size=self.token_font_px,
                                  font_weight="normal", align="middle", apply_clip=False)
        self.row_labels = Label(x=[], y=[], text=[], scales=sc, colors=[TEXT_COLOR], default_size=self.row_font_px,
                                font_weight="normal", align="end", y_offset=4, apply_clip=False)
        # every pattern segment, by (line style, width step); the widest underneath
        self.line_marks: dict[tuple[str, float], Lines] = {
            (style, width): Lines(x=np.zeros((0, 2)), y=np.zeros((0, 2)), scales=sc, line_style=style,
                                  stroke_width=width, colors=[NODE_COLOR], labels=[])
            for width in reversed(DRAWN_WIDTHS) for style in LINE_STYLES}
        self.grid.on_element_click(self._on_grid_click)
        self.nodes.on_element_click(self._on_node_click)
        # Every mark is in the figure from the start, empty until there is something to draw:
        # the browser builds the mark views when the graph is first shown, not at the first
        # Run (26 views at once then cost ~0.1 s of a 0.5 s run at 36 tokens, issue 10.8).
        self.figure = Figure(marks=self._marks(), fig_margin=dict(MARGIN), padding_x=0, padding_y=0,
                             animation_duration=0,
                             layout=widgets.Layout(width="100%", height=height or "430px",
                                                   min_width=None if self.fit_px is None else f"{round(self.fit_px)}px"))
        self.figure.add_class("ipyinfluence-graph-figure")
        # the figure keeps its columns wide enough and scrolls sideways in this box
        self.scroller = widgets.Box([self.figure], layout=widgets.Layout(width="100%", overflow="auto hidden"))
        self.scroller.add_class("ipyinfluence-graph-scroll")
        self.legend = widgets.HTML()
        self.legend.add_class("ipyinfluence-graph-legend")
        self.detail_panel = widgets.HTML("<i>Click a node to see the scores GPR chose among at that layer.</i>")
        self.detail_panel.add_class("ipyinfluence-detail")
        super().__init__([self.legend, self.scroller, self.detail_panel], **kwargs)
        self.add_class("ipyinfluence-graph")
        if self.presentation:
            self.add_class("ipyinfluence-presentation")
        self.level, self.palette, self.scale_max = level, palette, scale_max
        self.selected = None if selected is None else [int(p) for p in selected]
        self.observe(self._on_option, names=["level", "palette", "selected", "scale_max"])
        if explanation is not None:
            self.set_explanation(explanation)
        else:
            self._draw_legend()

    # -- public API -----------------------------------------------------------
    def set_explanation(self, explanation: Optional[Explanation]) -> None:
        """Show ``explanation`` (its words so far; more may follow through :meth:`add_word`)."""
        self.explanation = explanation
        self.word_lines = {}
        self.detail_panel.value = "<i>Click a node to see the scores GPR chose among at that layer.</i>"
        self.redraw()

    def add_word(self, word: WordResult) -> None:
        """One more word (streaming; a word already in the explanation is replaced). Drawn by
        the next :meth:`redraw` (the view protocol, see :mod:`.views`)."""
        if self.explanation is None:
            raise ValueError("call set_explanation(explanation) before add_word: the graph needs the tokens.")
        self.explanation.put_word(word)

    def select_words(self, positions: Optional[Iterable[int]]) -> None:
        """Draw only these source positions (None: every computed word)."""
        self.selected = None if positions is None else [int(p) for p in positions]

    def show_node(self, row: int, position: Optional[int]) -> str:
        """What a click on node ``(row, position)`` shows; also sets :attr:`detail`."""
        if self.explanation is None:
            return ""
        text = node_details(self.explanation, row, position, self.selected, self.level)
        self.detail = text
        self.detail_panel.value = text
        return text

    @property
    def drawn_level(self) -> Optional[str]:
        return None if self.layout_data is None else self.layout_data.level

    # -- drawing --------------------------------------------------------------
    def _on_option(self, change) -> None:
        if change["name"] == "level" and change["new"] not in LEVELS:
            self.level = change["old"]
            raise traitlets.TraitError(f"level must be one of {LEVELS}; got {change['new']!r}.")
        if change["name"] == "palette" and change["new"] not in PALETTES:
            self.palette = change["old"]
            raise traitlets.TraitError(f"palette must be one of {sorted(PALETTES)}; got {change['new']!r}.")
        self.redraw()

    def fit_scales(self, num_tokens: int, num_layers: int, token_lines: int = 2) -> None:
        """Set the axes to show ``num_tokens`` columns and ``num_layers`` layers."""
        with ExitStack() as stack:
            for s in self.scales.values():
                stack.enter_context(s.hold_sync())
            self.scales["x"].min, self.scales["x"].max = -1.25, num_tokens - 0.5
            self.scales["y"].min, self.scales["y"].max = y_range(num_layers, token_lines)

    def fit_size(self, num_tokens: int, num_layers: int, rows: TokenRows) -> None:
        """Size the figure so every column gets ``rows.col_px`` (scrolling when wider
        than the page) and every layer row ``row_px`` (from the scales' ranges, which
        :class:`CompareView` may share between graphs)."""
        xs, ys = self.scales["x"], self.scales["y"]
        columns = (xs.max - xs.min) if xs.max is not None and xs.min is not None else num_tokens + 0.75
        lo, hi = (ys.min, ys.max) if ys.max is not None and ys.min is not None else y_range(num_layers, rows.num_rows)
        width = round(rows.col_px * columns + MARGIN["left"] + MARGIN["right"])
        if self._height is not None:
            height = int(float(str(self._height).rstrip("px")))
            self.row_px = (height - MARGIN["top"] - MARGIN["bottom"]) / (hi - lo)
        else:
            self.row_px = row_px_for(num_layers)
            height = round(self.row_px * (hi - lo) + MARGIN["top"] + MARGIN["bottom"])
        lay = self.figure.layout
        if lay.min_width != f"{width}px" or lay.height != f"{height}px":
            with lay.hold_sync():
                lay.min_width, lay.height = f"{width}px", f"{height}px"

    def redraw(self) -> None:
        with self._lock:
            self._redraw()

    def _redraw(self) -> None:
        expl = self.explanation
        if expl is None:
            self.layout_data = None
            self._clear_marks()
            self._draw_legend()
            return
        decoder = getattr(self, "decoder", None)  # a causal LM's marks (set by the Explorer)
        lay = layout(decoder.for_layout(expl) if decoder else expl, self.selected, self.level, self.scale_max)
        self.layout_data = lay
        labels = row_labels(expl.num_layers)
        fixed = [self.grid, self.edge_handles, self.nodes, self.head_labels, self.token_labels, self.row_labels]
        with ExitStack() as stack:
            for m in fixed:
                stack.enter_context(m.hold_sync())
            self.token_line = TOKEN_LINE
            if self.fit_px is not None:
                rows, row_x = self._fit_to_width(expl, lay, labels)
            else:
                rows, row_x = token_rows(expl.tokens, min_col_px=26 if self.compact else self.min_col_px,
                                         **({"max_single_row_col_px": 0} if self.compact else {})), ROW_LABEL_X
                if self._own_scales:
                    self.fit_scales(len(expl.tokens), expl.num_layers, rows.num_rows)
                self.fit_size(len(expl.tokens), expl.num_layers, rows)
            self.token_layout = rows
            grid = lay.grid()
            self.grid.x = [p[0] for p in grid]
            self.grid.y = [p[1] for p in grid]
            self.grid.names = [self._grid_name(x, r, labels, lay) for x, r in grid]
            self.token_labels.x = list(range(len(expl.tokens)))
            self.token_labels.y = [TOKEN_ROW_Y - self.token_line * r for r in rows.rows]
            self.token_labels.text = rows.texts
            self.row_labels.x = [row_x] * len(labels)
            self.row_labels.y = list(range(len(labels)))
            self.row_labels.text = labels
            self._draw_words(lay, stack)
            self._draw_handles(lay, labels, rows.col_px)
            self._draw_nodes(lay, labels)
            decorate_graph(self, expl, lay, grid, GRID_COLOR)
        self._draw_legend()

    def _fit_to_width(self, expl: Explanation, lay: PatternLayout, labels: list[str]) -> tuple[TokenRows, float]:
        """Every column in the figure's fixed least width (:attr:`fit_px`): the row names
        get the room they need on the left, the columns share the rest, and token texts
        that would touch give way (the shown words', the QoI's and the pattern's columns
        never do). Returns the token rows and where the row names end (data x)."""
        n = max(1, len(expl.tokens))
        reserve = max(text_width(t, self.row_font_px) for t in labels) + 10
        col_px = (self.fit_px - MARGIN["left"] - MARGIN["right"] - reserve) / n
        keep = [d.position for d in lay.words]
        if expl.readout_position is not None:
            keep.append(expl.readout_position)
        keep += [nd.position for nd in lay.nodes() if nd.position is not None]
        rows = fitted_token_rows(expl.tokens, col_px, self.token_font_px, keep, left_px=-col_px / 2 - 2)
        height = int(float(str(self._height or "430px").rstrip("px")))
        plot_px = height - MARGIN["top"] - MARGIN["bottom"]
        # the second line of token texts at least a text's height below the first (deep models
        # have short rows)
        lo, hi = y_range(expl.num_layers, rows.num_rows)
        self.token_line = max(TOKEN_LINE, (self.token_font_px + 4) / (plot_px / (hi - lo)))
        lo -= (self.token_line - TOKEN_LINE) * (rows.num_rows - 1)
        if self._own_scales:
            with self.scales["x"].hold_sync(), self.scales["y"].hold_sync():
                self.scales["x"].min, self.scales["x"].max = -0.5 - reserve / col_px, n - 0.5
                self.scales["y"].min, self.scales["y"].max = lo, hi
        ys = self.scales["y"]
        self.row_px = plot_px / (ys.max - ys.min)
        if self.figure.layout.height != f"{height}px":
            self.figure.layout.height = f"{height}px"
        return rows, -0.5 - 4 / col_px

    def _marks(self) -> list:
        return [self.grid, *self.line_marks.values(), self.edge_handles, self.nodes, self.head_labels,
                self.token_labels, self.row_labels]

    def _clear_marks(self) -> None:
        """Nothing drawn; the marks stay in the figure (see ``__init__``)."""
        self.word_lines, self._node_keys, self.head_placements = {}, [], []
        for mark in (self.grid, self.edge_handles, self.nodes):
            if len(mark.x):
                with mark.hold_sync():
                    mark.x, mark.y, mark.names = [], [], []
        for mark in (self.head_labels, self.token_labels, self.row_labels):
            if len(mark.x):
                with mark.hold_sync():
                    mark.x, mark.y, mark.text = [], [], []
        for mark in self.line_marks.values():
            if len(mark.x):
                with mark.hold_sync():
                    mark.x, mark.y, mark.labels = np.zeros((0, 2)), np.zeros((0, 2)), []

    def _grid_name(self, x: float, row: int, labels: list[str], lay: PatternLayout) -> str:
        if row == len(labels) - 1:
            return f"QoI: {self.explanation.qoi}"
        return f"{labels[row]}[{int(x)}] '{lay.tokens[int(x)]}'"

    def _draw_words(self, lay: PatternLayout, stack: ExitStack) -> None:
        """Every shown word's segments into the fixed marks (see the module doc); a mark
        whose rows did not change is not re-sent."""
        rows: dict[tuple[str, float], tuple[list, list, list, list]] = {
            key: ([], [], [], []) for key in self.line_marks}  # x, y, colours, labels per mark
        word_lines: dict[int, dict[str, WordLines]] = {}
        for d in lay.words:
            color = sign_color(d.sign, self.palette)
            key_width = drawn_width(line_width(d.influence, lay.scale_max))
            label = f"{d.word.token}_{d.position}"
            entry = {}
            for style in LINE_STYLES:
                xs, ys, colors, labels = rows[(style, key_width)]
                start = len(xs)
                for s in d.segments:
                    if s.style == style:
                        xs.append((s.drawn[0], s.drawn[2]))
                        ys.append((s.y0, s.y1))
                        colors.append(color)
                        labels.append(label)
                mark = self.line_marks[(style, key_width)] if len(xs) > start else None
                entry[style] = WordLines(mark, tuple(range(start, len(xs))), style)
            word_lines[d.position] = entry
        for key, mark in self.line_marks.items():
            xs, ys, colors, labels = rows[key]
            x = np.array(xs, dtype=float).reshape(-1, 2)
            y = np.array(ys, dtype=float).reshape(-1, 2)
            same = (np.array_equal(np.asarray(mark.x, dtype=float).reshape(-1, 2), x)
                    and np.array_equal(np.asarray(mark.y, dtype=float).reshape(-1, 2), y)
                    and list(mark.labels) == labels and (not xs or list(mark.colors) == colors))
            if same:
                continue
            stack.enter_context(mark.hold_sync())
            mark.x, mark.y, mark.labels = x, y, labels
            if xs:  # an empty mark keeps its colours (bqplot wants at least one)
                mark.colors = colors
        self.word_lines = word_lines

    def _draw_handles(self, lay: PatternLayout, labels: list[str], col_px: float) -> None:
        xs, ys, names, colors = [], [], [], []
        for d in lay.words:
            color = sign_color(d.sign, self.palette)
            for s in d.segments:
                x0, y0, x1, y1 = s.drawn
                xs.append((x0 + x1) / 2), ys.append((y0 + y1) / 2), colors.append(color)
                names.append(_edge_text(d, s, labels, lay.tokens))
        self.edge_handles.x, self.edge_handles.y = xs, ys
        self.edge_handles.names = names
        self.edge_handles.colors = colors or [NODE_COLOR]
        # one label per head route, beside its own edge (dark text: in the line's colour it
        # would vanish into the line)
        decoder = getattr(self, "decoder", None)
        self.head_placements = place_head_labels(lay, col_px, self.row_px, self.head_font_px,
                                                 pattern_columns_only=self.fit_px is not None,
                                                 label_text=decoder.head_text if decoder else None)
        self.head_labels.x = [h.x for h in self.head_placements]
        self.head_labels.y = [h.y for h in self.head_placements]
        self.head_labels.text = [h.text for h in self.head_placements]
        self.head_labels.colors = [TEXT_COLOR]

    def _draw_nodes(self, lay: PatternLayout, labels: list[str]) -> None:
        nodes = lay.nodes()
        by_pos = {d.position: d for d in lay.words}
        names = []
        for n in nodes:
            where = "QoI" if n.row == len(labels) - 1 else f"{labels[n.row]}[{n.position}] '{lay.tokens[n.position]}'"
            parts = [f"{by_pos[p].word.token}_{p} {fmt(v)}" for p, v in n.scores]
            names.append(f"{where} · " + "; ".join(parts))
        self.nodes.x = [n.x for n in nodes]
        self.nodes.y = [n.row for n in nodes]
        self.nodes.names = names
        self._node_keys = [(n.row, n.position) for n in nodes]

    def _draw_legend(self) -> None:
        signs = sign_legend_html(self.palette if self.palette in PALETTES else "paper")
        lay = self.layout_data
        if lay is None:
            self.legend.value = "<i>No explanation yet.</i>"
            return
        level = lay.level
        extra = " · solid = attention head (label H<i>h</i> = head index), ┅ dashed = skip" \
            if level == "attention" else ""
        note = ""
        if self.level == "attention" and level == "embedding":
            note = " (these results have no attention level: run with level='attention')"
        drawn = ""
        if self.selected is not None:  # say what is drawn, and how to see more
            from .export import shown_words_text  # (export draws with this module's geometry)

            drawn = (f"<br><span class='ipyinfluence-graph-drawn'>Drawn: "
                     f"{esc(shown_words_text(self.explanation, self.selected))}; click a word in the "
                     f"sentence to draw it, or \"show all\".</span>")
        font = " style='font-size:16px'" if self.presentation else ""
        self.legend.value = (f"<div{font}><b>{level.capitalize()}-level patterns</b>{note}: {signs}{extra}. "
                             f"QoI: {esc(self.explanation.qoi)}{drawn}</div><small>"
                             f"{width_legend_html(lay.scale_max, stepped=True)}</small>"
                             + (self.decoder.legend_html(lay.tokens) if getattr(self, "decoder", None) else ""))

    # -- clicks -----------------------------------------------------------------
    # A click handler runs inside the kernel's message loop: an error there would only
    # reach the log, so it is shown in the panel instead.
    def _on_grid_click(self, _mark, content) -> None:
        try:
            index = (content.get("data") or {}).get("index")
            if index is None or self.layout_data is None:
                return
            x, row = self.layout_data.grid()[index]
            top = qoi_row(self.layout_data.num_layers)
            self.show_node(row, self.layout_data.readout_position if row == top else int(x))
        except Exception as e:  # noqa: BLE001 - a widget never dies
            self.detail_panel.value = error_html(f"could not show this node: {e}", "#b00")

    def _on_node_click(self, _mark, content) -> None:
        try:
            index = (content.get("data") or {}).get("index")
            if index is None or index >= len(self._node_keys):
                return
            row, position = self._node_keys[index]
            self.show_node(row, position)
        except Exception as e:  # noqa: BLE001 - a widget never dies
            self.detail_panel.value = error_html(f"could not show this node: {e}", "#b00")
