"""``StepThrough``: Guided Pattern Refinement one layer at a time, for teaching (the
paper's Figure 2, live).

For one word ``x_i`` the pattern is built as GPR builds it: first the embedding-level
pattern ``π^e_i`` bottom-up (layer 0 is the word's own node, then at each layer ``l`` the
node ``h^l_e`` with the best ``σ_i · score``), then, when the results have it, the
attention-level refinement ``π^a_i`` (at each layer the head or the skip into the kept
node with the best ``σ_i · score``). Each stage shows

* every candidate with its score as a bar (best first by ``σ·score``; the runners-up
  below the first :data:`SHOWN` are one click away in a ``<details>``),
* the rule that picks the chosen one, written out with the numbers
  (``argmax σ·score = (+1)·(+3.2e-04)``; ``top k`` for the extension),
* the pattern so far on a small graph (same layout as :class:`PatternGraph`), the
  candidates of this layer as dots and the chosen node ringed,
* the running influence of the pattern so far (the sum of the kept candidates' scores:
  the influence of the partial pattern, which at the last layer is ``I(x, π_i)``)
  against the word's total influence ``g_i``.

Everything comes from the Explanation's stored per-step scores
(``EmbeddingStep.scores``, ``AttentionStep.candidates``): no engine call. Next/Previous
buttons and a slider move between stages; the slider takes the arrow keys once focused
(and the buttons Tab / Enter), so a teacher can present it from the keyboard, in Voila
too.

View protocol: ``set_explanation``, ``add_word``, ``redraw``; ``show_word(position)``
picks the word (e.g. from :class:`ColouredSentence`'s ``on_select``); ``on_select``
registers ``callback(position)`` for a word picked in its own dropdown.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

import ipywidgets as widgets
import traitlets
from bqplot import Figure, Label, Lines, LinearScale, Scatter, Tooltip

from ..results import SKIP, Explanation, Route, WordResult
from .escape import esc
from . import decoder_marks
from .geometry import (HEAD_FONT_PX, TOKEN_FONT_PX, X_ROW, PatternLayout, fitted_token_rows, hidden_row, place_head_labels, qoi_row, qoi_x,
                       row_labels, word_drawing)
from .style import (GRID_COLOR, HIGHLIGHT_COLOR, NODE_COLOR, PALETTES, TEXT_COLOR, check_palette, fmt, layer_label,
                    line_width, sign_color, sign_legend_html, text_width, width_reference)
from .views import PickingView

SHOWN = 12  # candidate bars shown before "… n more"
FIT_PX = 780  # the figure's fixed least width (inside the Explorer's accordion 812 px show at 1280): never resized
MARGIN = dict(top=12, bottom=8, left=12, right=12)
CONTEXT_COLOR = "#dcdcdc"  # the embedding-level pattern being refined: wide, light, solid (dashed means skip)
BAR_PX = 180  # the longest candidate bar


@dataclass(frozen=True)
class Candidate:
    position: int
    route: Optional[Route]  # None at the embedding level
    score: float

    def label(self, tokens: list[str], layer: int) -> str:
        node = f"{layer_label(layer)}[{self.position}] {tokens[self.position]}"
        if self.route is None:
            return node
        return f"{node} via {'skip' if self.route == SKIP else f'head {self.route}'}"


@dataclass
class Stage:
    """One step of GPR for one word."""

    level: str  # "embedding" | "attention"
    layer: int
    candidates: list[Candidate]
    chosen: list[Candidate]
    sign: int  # σ_i

    @property
    def running(self) -> float:
        """Influence of the pattern up to this layer: the kept candidates' scores summed."""
        return sum(c.score for c in self.chosen)

    def ranked(self) -> list[Candidate]:
        """Best first by ``σ·score`` (GPR keeps the first ``len(chosen)``)."""
        return sorted(self.candidates, key=lambda c: -self.sign * c.score)


def stages(word: WordResult, level: str = "attention") -> list[Stage]:
    """GPR's stages for ``word``: embedding layers 0..L, then attention layers 1..L (when
    the word has an attention-level pattern and ``level`` is "attention")."""
    out = []
    for step in word.embedding.steps:
        if step.layer == 0:
            cands = [Candidate(p, None, step.scores[p]) for p in step.chosen]
        else:
            cands = [Candidate(p, None, s) for p, s in enumerate(step.scores)]
        chosen = [Candidate(p, None, step.scores[p]) for p in step.chosen]
        out.append(Stage("embedding", step.layer, cands, chosen, word.sign))
    if level == "attention" and word.attention is not None:
        for step in word.attention.steps:
            out.append(Stage("attention", step.layer,
                             [Candidate(c.position, c.route, c.score) for c in step.candidates],
                             [Candidate(c.position, c.route, c.score) for c in step.chosen], word.sign))
    return out


def rule_text(stage: Stage, tokens: list[str]) -> str:
    """The choice written out with its numbers (plain text)."""
    s = stage.sign
    if stage.level == "embedding" and stage.layer == 0:
        c = stage.chosen[0]
        return (f"Layer 0 has one candidate, the word's own node {layer_label(0)}[{c.position}]: "
                f"score = gᵢ = {fmt(c.score)}.")
    k = len(stage.chosen)
    what = "node e" if stage.level == "embedding" else "route r (a head or the skip) into the kept node"
    pick = "argmax" if k == 1 else f"the top {k} by"
    kept = sorted(stage.chosen, key=lambda c: -s * c.score)
    named = "; ".join(f"{c.label(tokens, stage.layer)} with σ·score = ({s:+d})·({fmt(c.score)}) = {fmt(s * c.score)}"
                      for c in kept)  # every kept one: with top_k 3 naming only the best hid two (issue 19.6)
    text = f"GPR keeps {pick} σ·score over every {what}, σ = sign(gᵢ) = {s:+d}: {named}"
    runner = [c for c in stage.ranked() if c not in stage.chosen]
    if runner:
        r = runner[0]
        text += (f" ≥ the best of the rest, {r.label(tokens, stage.layer)}: ({s:+d})·({fmt(r.score)}) = "
                 f"{fmt(s * r.score)}")
    return text + "."


def legend_html(palette: str, level: str) -> str:
    """What the step-through's marks mean (one meaning per mark, as in the pattern graph:
    dashed is a skip route in both)."""
    context = (f" · <span style='display:inline-block;width:22px;height:7px;background:{CONTEXT_COLOR};"
               "vertical-align:middle'></span> the embedding-level pattern πᵉ being refined") \
        if level == "attention" else ""
    return (f"<small>the pattern so far: {sign_legend_html(palette)} · solid = through a head "
            f"(<b>Hn</b> = head n), ┅ dashed = skip route{context} · ● this layer's candidates "
            f"(colour: sign of the score) · ◯ ringed = kept</small>")


class StepThrough(PickingView, widgets.VBox):
    """Step through GPR for one word of an explanation (see the module doc)."""

    position = traitlets.Int(None, allow_none=True)  # the word whose pattern is built
    step = traitlets.Int(0)
    palette = traitlets.Enum(tuple(PALETTES), "paper")
    level = traitlets.Unicode("attention")
    # False while the view is out of sight (the Explorer's collapsed accordion): redraws
    # then skip the figure, which is drawn when this turns True
    graph_shown = traitlets.Bool(True)

    def __init__(self, explanation: Optional[Explanation] = None, *, position: Optional[int] = None,
                 level: str = "attention", palette: str = "paper", **kwargs):
        self._init_view()
        self.stage_list: list[Stage] = []
        self._graph_stale = False
        self._quiet = False
        self.word_box = widgets.Dropdown(options=[], description="word", layout=widgets.Layout(width="260px"))
        self.word_box.add_class("ipyinfluence-step-word")
        self.previous_button = widgets.Button(description="Previous", icon="arrow-left",
                                              tooltip="the layer before", layout=widgets.Layout(width="110px"))
        self.next_button = widgets.Button(description="Next", icon="arrow-right", button_style="primary",
                                          tooltip="GPR's next choice", layout=widgets.Layout(width="110px"))
        self.previous_button.add_class("ipyinfluence-step-previous")
        self.next_button.add_class("ipyinfluence-step-next")
        self.slider = widgets.IntSlider(0, min=0, max=0, description="step", continuous_update=True,
                                        readout=True, layout=widgets.Layout(width="320px"))
        self.slider.add_class("ipyinfluence-step-slider")
        self.header = widgets.HTML()
        self.header.add_class("ipyinfluence-step-header")
        self.rule = widgets.HTML()
        self.rule.add_class("ipyinfluence-step-rule")
        self.candidates = widgets.HTML()
        self.candidates.add_class("ipyinfluence-step-candidates")
        self.legend = widgets.HTML()
        self.legend.add_class("ipyinfluence-step-legend")
        self.running = widgets.HTML()
        self.running.add_class("ipyinfluence-step-running")
        self._build_graph()
        self.previous_button.on_click(lambda _b: self.previous())
        self.next_button.on_click(lambda _b: self.next())
        controls = widgets.HBox([self.word_box, self.previous_button, self.next_button, self.slider],
                                layout=widgets.Layout(align_items="center", flex_flow="row wrap"))
        # the graph takes the whole width (40 tokens fit a laptop screen); the numbers below it
        explain = widgets.VBox([self.rule, self.running], layout=widgets.Layout(width="48%", min_width="320px"))
        numbers = widgets.HBox([explain, self.candidates],
                               layout=widgets.Layout(width="100%", align_items="flex-start", flex_flow="row wrap"))
        self.candidates.layout = widgets.Layout(width="50%", min_width="360px")
        super().__init__([self.header, controls, self.legend, self.scroller, numbers], **kwargs)
        self.add_class("ipyinfluence-step")
        self.palette, self.level = check_palette(palette), level
        self.word_box.observe(self._on_word_box, names="value")
        traitlets.link((self, "step"), (self.slider, "value"))
        self.observe(lambda _c: self.redraw(), names=["step", "palette"])
        self.observe(self._on_position, names="position")
        self.observe(self._on_level, names="level")
        self.observe(self._on_graph_shown, names="graph_shown")
        self.set_explanation(explanation)
        if position is not None:
            self.show_word(position)

    def _build_graph(self) -> None:
        self.scales = {"x": LinearScale(min=-1.0, max=1.0), "y": LinearScale(min=-1.0, max=1.0)}
        sc = self.scales
        self.grid = Scatter(x=[], y=[], scales=sc, colors=[GRID_COLOR], default_size=24, names_unique=False)
        self.context_lines = Lines(x=[[0, 0]], y=[[0, 0]], scales=sc, colors=[CONTEXT_COLOR], stroke_width=7)
        self.pattern_lines = Lines(x=[[0, 0]], y=[[0, 0]], scales=sc, colors=[NODE_COLOR], stroke_width=3)
        self.skip_lines = Lines(x=[[0, 0]], y=[[0, 0]], scales=sc, colors=[NODE_COLOR], stroke_width=3,
                                line_style="dashed")  # skip routes dashed, as in the pattern graph
        self.candidate_dots = Scatter(x=[], y=[], scales=sc, colors=[NODE_COLOR], default_size=40, names=[],
                                      names_unique=False, display_names=False, stroke="white",
                                      tooltip=Tooltip(fields=["name"], show_labels=False))
        # the chosen node: a ring around its dot
        self.chosen_dots = Scatter(x=[], y=[], scales=sc, colors=[NODE_COLOR], default_size=300, fill=False,
                                   stroke_width=3, names_unique=False)
        self.token_labels = Label(x=[], y=[], text=[], scales=sc, colors=[TEXT_COLOR], default_size=13,
                                  align="middle", apply_clip=False)
        self.row_text = Label(x=[], y=[], text=[], scales=sc, colors=[TEXT_COLOR], default_size=12, align="end",
                              y_offset=4, apply_clip=False)
        self.head_text = Label(x=[], y=[], text=[], scales=sc, colors=[TEXT_COLOR], default_size=HEAD_FONT_PX,
                               font_weight="bold", align="middle", y_offset=4, apply_clip=False)
        self.figure = Figure(marks=[self.grid, self.context_lines, self.pattern_lines, self.skip_lines,
                                    self.chosen_dots, self.candidate_dots, self.token_labels, self.row_text,
                                    self.head_text],
                             fig_margin=dict(MARGIN), padding_x=0, padding_y=0, animation_duration=0,
                             layout=widgets.Layout(width="100%", min_width=f"{FIT_PX}px", height="330px"))
        self.figure.add_class("ipyinfluence-step-figure")
        self.scroller = widgets.Box([self.figure], layout=widgets.Layout(width="100%", overflow="auto hidden"))

    # -- view protocol ----------------------------------------------------------------
    def set_explanation(self, explanation: Optional[Explanation]) -> None:
        with self._lock:
            self.explanation = explanation
            self._refresh_words()
        self.redraw()

    def redraw(self) -> None:
        with self._lock:
            self._refresh_words()  # words added since the last redraw join the dropdown
            self._redraw()

    # -- navigation -------------------------------------------------------------------
    def show_word(self, position: int) -> None:
        """Step through the word at source ``position`` from its first stage."""
        if self.explanation is None or not any(w.position == position for w in self.explanation.words):
            raise ValueError(f"position {position} is not a computed source word.")
        with self._lock:
            self._refresh_words()  # a word streamed in since the last redraw joins the dropdown first
        self.position = int(position)

    def next(self) -> None:
        if self.step < len(self.stage_list) - 1:
            self.step += 1

    def previous(self) -> None:
        if self.step > 0:
            self.step -= 1

    @property
    def stage(self) -> Optional[Stage]:
        return self.stage_list[self.step] if 0 <= self.step < len(self.stage_list) else None

    @property
    def word(self) -> Optional[WordResult]:
        if self.explanation is None or self.position is None:
            return None
        return next((w for w in self.explanation.words if w.position == self.position), None)

    # -- reactions --------------------------------------------------------------------
    def _refresh_words(self) -> None:
        expl = self.explanation
        words = sorted(expl.words, key=lambda w: w.position) if expl is not None else []
        options = [(f"{w.token} ({w.position}) g = {fmt(w.total_influence)}", w.position) for w in words]
        self._quiet = True
        try:
            if list(self.word_box.options) != options:
                self.word_box.options = options
            if self.position is not None and all(w.position != self.position for w in words):
                self.position = None
            if self.position is None and words:
                # the most influential word first: the one a class looks at
                self.position = max(words, key=lambda w: abs(w.total_influence)).position
            self.word_box.value = self.position
        finally:
            self._quiet = False
        self._rebuild_stages()

    def _rebuild_stages(self) -> None:
        w = self.word
        self.stage_list = stages(w, self.level) if w is not None else []
        self.slider.max = max(0, len(self.stage_list) - 1)
        if self.step > self.slider.max:
            self.step = self.slider.max

    def _on_word_box(self, change) -> None:
        if self._quiet or change["new"] is None:
            return
        self.position = change["new"]
        self._select(change["new"])

    def _on_position(self, change) -> None:
        with self._lock:
            self._quiet = True
            try:
                self.word_box.value = change["new"]
            finally:
                self._quiet = False
            self._rebuild_stages()
            self.step = 0
        self.redraw()

    def _on_level(self, change) -> None:
        with self._lock:
            self._rebuild_stages()
        self.redraw()

    # -- drawing ----------------------------------------------------------------------
    def _redraw(self) -> None:
        expl, w, stage = self.explanation, self.word, self.stage
        self.previous_button.disabled = stage is None or self.step == 0
        self.next_button.disabled = stage is None or self.step >= len(self.stage_list) - 1
        if expl is None or w is None or stage is None:
            self.header.value = "<i>No computed word to step through yet.</i>"
            self.rule.value = self.candidates.value = self.running.value = ""
            return
        tokens = expl.tokens
        level_name = "Embedding level πᵉ" if stage.level == "embedding" else "Attention level πᵃ"
        self.header.value = (f"<b>GPR step-through for {esc(w.token)}<sub>{w.position}</sub></b> "
                             f"(gᵢ = {esc(fmt(w.total_influence))}, σ = {w.sign:+d}) · "
                             f"<span class='ipyinfluence-step-title'>{level_name}, layer {stage.layer} of "
                             f"{expl.num_layers}</span> · step {self.step + 1} of {len(self.stage_list)}")
        self.rule.value = (f"<div style='background:{HIGHLIGHT_COLOR};padding:4px 6px;margin:2px 0'>"
                           f"{esc(rule_text(stage, tokens))}</div>")
        self.running.value = self._running_html(w, stage)
        self.legend.value = legend_html(self.palette, stage.level)
        self.candidates.value = self._candidates_html(stage, tokens)
        if self.graph_shown:
            self._draw_graph(expl, w, stage)
        self._graph_stale = not self.graph_shown

    def _on_graph_shown(self, change) -> None:
        if change["new"] and self._graph_stale:
            self.redraw()

    def _running_html(self, w: WordResult, stage: Stage) -> str:
        g = w.total_influence
        ref = max(abs(g), abs(stage.running)) or 1.0
        color = sign_color(1 if stage.running >= 0 else -1, self.palette)
        gcolor = sign_color(w.sign, self.palette)
        share = stage.running / g if g else float("nan")

        def bar(value: float, c: str) -> str:
            return (f"<span style='display:inline-block;height:12px;width:{BAR_PX * abs(value) / ref:.1f}px;"
                    f"background:{c};vertical-align:middle'></span>")

        return ("<table class='ipyinfluence-step-influence' style='font-size:12px'>"
                f"<tr><td>pattern so far I(π)</td><td>{bar(stage.running, color)}</td>"
                f"<td class='running-value'>{esc(fmt(stage.running))}</td></tr>"
                f"<tr><td>total gᵢ</td><td>{bar(g, gcolor)}</td><td>{esc(fmt(g))}</td></tr>"
                f"<tr><td colspan=3>share of gᵢ carried so far: {share:.0%}</td></tr></table>")

    def _candidates_html(self, stage: Stage, tokens: list[str]) -> str:
        ranked = stage.ranked()
        top = max((abs(c.score) for c in ranked), default=0.0) or 1.0
        chosen = set(stage.chosen)

        def row(c: Candidate) -> str:
            mark = " ✓" if c in chosen else ""
            bg = f" style='background:{HIGHLIGHT_COLOR};font-weight:bold'" if c in chosen else ""
            color = sign_color(1 if c.score >= 0 else -1, self.palette)
            return (f"<tr class='candidate{' chosen' if c in chosen else ''}'{bg}>"
                    f"<td>{esc(decoder_marks.route_text(self, c.label(tokens, stage.layer)))}</td>"
                    f"<td><span style='display:inline-block;height:10px;width:{BAR_PX * abs(c.score) / top:.1f}px;"
                    f"background:{color}'></span></td><td>{esc(fmt(c.score))}{mark}</td></tr>")

        head = "<tr><th>candidate</th><th>|score|</th><th>score</th></tr>"
        table = f"<table class='ipyinfluence-scores' style='font-size:12px'>{head}" + \
            "".join(row(c) for c in ranked[:SHOWN]) + "</table>"
        rest = ranked[SHOWN:]
        if rest:
            table += (f"<details class='ipyinfluence-more'><summary>… {len(rest)} more</summary>"
                      f"<table class='ipyinfluence-scores' style='font-size:12px'>{head}"
                      + "".join(row(c) for c in rest) + "</table></details>")
        noun = "candidate" if len(ranked) == 1 else "candidates"
        return f"<div><b>{len(ranked)} {noun}</b>, best σ·score first:{table}</div>"

    def _draw_graph(self, expl: Explanation, w: WordResult, stage: Stage) -> None:
        """The pattern so far in a figure of a fixed width (:data:`FIT_PX` at least: its
        columns share it, token texts that would touch give way, never the word's, the
        kept nodes' or the QoI's), skips dashed and heads labelled as in the pattern graph,
        the embedding-level pattern being refined wide and light grey underneath."""
        n, L = len(expl.tokens), expl.num_layers
        labels = row_labels(L)
        reserve = max(text_width(t, 12) for t in labels) + 10
        col_px = (FIT_PX - MARGIN["left"] - MARGIN["right"] - reserve) / max(1, n)
        q_x = qoi_x(decoder_marks.layout_explanation(self, expl))
        row_now = hidden_row(stage.layer)
        color = sign_color(w.sign, self.palette)
        width = line_width(w.embedding.influence if stage.level == "embedding" else w.attention.influence,
                           width_reference(expl))
        done = word_drawing(w, L, q_x, stage.level)
        segs = [s for s in done.segments if s.y1 <= row_now]
        solid = [s for s in segs if s.style == "solid"]
        dashed = [s for s in segs if s.style == "dashed"]
        context = []
        if stage.level == "attention":  # the embedding-level pattern it refines, in light grey
            context = word_drawing(w, L, q_x, "embedding").segments
        top = qoi_row(L)
        keep = [w.position] + [c.position for c in stage.chosen] + \
            ([expl.readout_position] if expl.readout_position is not None else []) + \
            [int(x) for s in segs for x in (s.x0, s.x1)]
        rows = fitted_token_rows(expl.tokens, col_px, TOKEN_FONT_PX, keep, left_px=-col_px / 2 - 2)
        height = 330 - MARGIN["top"] - MARGIN["bottom"]
        lo, hi = -0.45 - 0.36 * (rows.num_rows - 1) - 0.4, top + 0.45
        line = max(0.36, (TOKEN_FONT_PX + 4) * (hi - lo) / height)
        lo -= (line - 0.36) * (rows.num_rows - 1)
        partial = PatternLayout(tokens=list(expl.tokens), num_layers=L, qoi_x=q_x, level=stage.level,
                                words=[dataclasses.replace(done, segments=segs)], scale_max=width_reference(expl),
                                readout_position=expl.readout_position)
        heads = place_head_labels(partial, col_px, height / (hi - lo), pattern_columns_only=True)
        layer_cands: dict[int, float] = {}
        for c in stage.candidates:  # best σ·score per position
            if c.position not in layer_cands or stage.sign * c.score > stage.sign * layer_cands[c.position]:
                layer_cands[c.position] = c.score
        with self.figure.hold_sync(), self.grid.hold_sync(), self.pattern_lines.hold_sync(), \
                self.skip_lines.hold_sync(), self.context_lines.hold_sync(), self.candidate_dots.hold_sync(), \
                self.chosen_dots.hold_sync(), self.token_labels.hold_sync(), self.head_text.hold_sync():
            self.scales["x"].min, self.scales["x"].max = -0.5 - reserve / col_px, n - 0.5
            self.scales["y"].min, self.scales["y"].max = lo, hi
            self.grid.x = [float(p) for r in range(hidden_row(L) + 1) for p in range(n)] + [q_x]
            self.grid.y = [r for r in range(hidden_row(L) + 1) for _p in range(n)] + [top]
            self.token_labels.x, self.token_labels.text = list(range(n)), \
                decoder_marks.token_labels(self, rows.texts, expl.tokens)
            self.grid.colors = decoder_marks.step_grid_colors(self, self.grid.x, self.grid.y, w.position, GRID_COLOR)
            self.token_labels.y = [-0.45 - line * r for r in rows.rows]
            self.row_text.x, self.row_text.y, self.row_text.text = [-0.5 - 4 / col_px] * len(labels), \
                list(range(len(labels))), labels
            for mark, part in ((self.pattern_lines, solid), (self.skip_lines, dashed)):
                mark.x = [[s.x0, s.x1] for s in part] or [[0, 0]]
                mark.y = [[s.y0, s.y1] for s in part] or [[X_ROW, X_ROW]]
                mark.colors = [color]
                mark.stroke_width = width
                mark.opacities = [1.0 if part else 0.0]
            self.context_lines.x = [[s.x0, s.x1] for s in context] or [[0, 0]]
            self.context_lines.y = [[s.y0, s.y1] for s in context] or [[X_ROW, X_ROW]]
            self.context_lines.opacities = [1.0 if context else 0.0]
            self.head_text.x, self.head_text.y = [h.x for h in heads], [h.y for h in heads]
            self.head_text.text = [h.text for h in heads]
            xs = sorted(layer_cands)
            self.candidate_dots.x = [float(p) for p in xs]
            self.candidate_dots.y = [row_now] * len(xs)
            self.candidate_dots.colors = [sign_color(1 if layer_cands[p] >= 0 else -1, self.palette) for p in xs]
            self.candidate_dots.names = [f"{expl.tokens[p]} ({p}): best score {fmt(layer_cands[p])}" for p in xs]
            chosen = sorted({c.position for c in stage.chosen})
            self.chosen_dots.x = [float(p) for p in chosen]
            self.chosen_dots.y = [row_now] * len(chosen)
