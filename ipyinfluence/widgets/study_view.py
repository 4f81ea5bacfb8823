"""``StudyView``: edit a sentence set, run a study, read its aggregate patterns, ablate.

Top to bottom: the set editor (a template with ``{slots}`` and word lists, or pasted
sentences; the contrast that orients the QoI correct − wrong), options (sample size,
seed, steps), Run / Cancel with a progress bar and status, the split-by and condition
selectors, the role selector and the layer × route heat map (bqplot ``GridHeatMap``:
share of the role's patterns taking each route into each layer), the sentences whose
pattern passes through the clicked cell with "open in Explorer", the ablation panel
(layer, head or skip, position; before / after / random-control histograms of q), and
exports (aggregates as CSV / JSON, the view as SVG / HTML; data links, no network).

Word lists, one slot per line: ``subject.sing: author pilot`` (a label after the dot:
the subject's number) or ``verb: like hate``. Contrast: ``subject sing=is/are
plur=are/is`` (the QoI follows the subject's label), or ``is/are`` for every sentence.

Running is :meth:`Study.iter_run` (the view redraws at most every ``refresh_every`` seconds
and at the end): inline by default (updates stream while it runs, a
Cancel click is handled after it), ``background=True`` in a worker thread (Cancel stops
it after the current sentence; the sentences done stay). A widget never dies: bad input
shows a message and keeps the earlier study. Stable CSS classes
(``ipyinfluence-study-view``, ``-study-run``, ``-study-cancel``, ``-study-status``,
``-study-heatmap``, ``-study-error``...) let browser tests find the parts.
"""

from __future__ import annotations

import base64
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Optional

import ipywidgets as widgets
import numpy as np
import traitlets
from bqplot import Axis, Bars, ColorAxis, ColorScale, Figure, GridHeatMap, LinearScale, OrdinalScale

from ..errors import InfluenceError, InputError
from ..model import InfluenceModel, load_model
from ..qoi import TokenContrast
from ..quadrature import DEFAULT_STEPS
from ..results import SKIP
from ..study import ContrastBy, SentenceSet, Study
from ..study.aggregate import ALL, Aggregates
from .escape import esc
from .study_export import HIST_SERIES, ablation_histogram, ablation_html, aggregate_table_html, heatmap_svg, \
    study_html

TEMPLATE = "the {subject} that the {attractor} {verb} [MASK] happy ."
WORDS = ("subject.sing: author pilot surgeon farmer\nsubject.plur: authors pilots surgeons farmers\n"
         "attractor.sing: guard dancer\nattractor.plur: guards dancers\nverb: like hate")
CONTRAST = "subject sing=is/are plur=are/is"
MIME = {"csv": "text/csv", "json": "application/json", "svg": "image/svg+xml", "html": "text/html"}


class CellGrid(GridHeatMap):
    """A ``GridHeatMap`` whose ``selected`` cells are kept as integers: a click arrives from
    the browser as an object array, which bqplot 0.13 cannot serialise back (ValueError
    "Unsupported dtype object" before any observer runs)."""

    @traitlets.validate("selected")
    def _integer_cells(self, proposal):
        value = proposal["value"]
        return None if value is None else np.asarray(value, dtype=np.int64).reshape(-1, 2)


def parse_words(text: str) -> dict[str, Any]:
    """``slot: w w`` / ``slot.label: w w`` lines -> the word lists of :meth:`SentenceSet.from_template`."""
    out: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if ":" not in line:
            raise InputError(f"word lists, line {number} ({line.strip()!r}): write 'slot: word word' or "
                             "'slot.label: word word'.")
        key, words = line.split(":", 1)
        key, words = key.strip(), words.split()
        slot, _, label = key.partition(".")
        if label:
            if isinstance(out.get(slot), list):
                raise InputError(f"slot {slot!r} has both a plain list and labelled lists; label every line of it.")
            out.setdefault(slot, {})[label] = words
        else:
            if isinstance(out.get(slot), dict):
                raise InputError(f"slot {slot!r} has both a plain list and labelled lists; label every line of it.")
            out[slot] = words
    if not out:
        raise InputError("the word lists are empty: write one line per slot, e.g. 'subject.sing: author pilot'.")
    return out


def parse_contrast(text: str):
    """``slot label=good/bad ...`` -> :class:`ContrastBy`; ``good/bad`` -> one TokenContrast."""
    parts = text.split()
    if len(parts) == 1 and "/" in parts[0]:
        good, bad = parts[0].split("/", 1)
        return TokenContrast(good, bad)
    if len(parts) >= 2 and all("=" in p and "/" in p for p in parts[1:]):
        forms = {}
        for p in parts[1:]:
            label, pair = p.split("=", 1)
            good, bad = pair.split("/", 1)
            forms[label] = (good, bad)
        return ContrastBy(parts[0], forms)
    raise InputError(f"contrast {text!r} is not understood: write 'subject sing=is/are plur=are/is' (follows a "
                     "slot's label) or 'is/are' (the same for every sentence).")


class StudyView(widgets.VBox):
    """See the module doc. ``model``: an :class:`InfluenceModel` or what :func:`load_model`
    takes; ``study``: an existing :class:`Study` to show (its model is used). ``qoi``: a
    fixed QoI for non-masked-LM models (then the contrast box is ignored)."""

    status = traitlets.Unicode("")
    error = traitlets.Unicode("")
    running = traitlets.Bool(False)
    done = traitlets.Int(0)
    total = traitlets.Int(0)

    def __init__(self, model: Any = None, *, study: Optional[Study] = None, template: str = TEMPLATE,
                 words: str = WORDS, contrast: str = CONTRAST, sentences: str = "", qoi: Any = None, n: int = 16,
                 seed: int = 0, steps: int = DEFAULT_STEPS, path: Optional[str] = None, background: bool = False,
                 refresh_every: float = 0.5, **kwargs):
        self.model: Optional[InfluenceModel] = study.model if study is not None else (
            model if isinstance(model, InfluenceModel) else None)
        self._model_source = model
        self.study: Optional[Study] = study
        self.qoi_arg, self.path, self.background = qoi, path, background
        self.refresh_every = refresh_every  # seconds between redraws while running (aggregating is O(done))
        self.aggregates: Optional[Aggregates] = None
        self.ablation = None
        self.explorer = None
        self.last_traceback = ""
        self._cancel = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._build(template, words, contrast, sentences, n, seed, steps)
        super().__init__(self._children(), **kwargs)
        self.add_class("ipyinfluence-study-view")
        self.observe(lambda c: setattr(self.status_line, "value", esc(c["new"])), names="status")
        self.observe(self._on_error_trait, names="error")
        self.observe(self._on_running, names="running")
        if study is not None:
            self.done, self.total = len(study.explanations), len(study)
            self.refresh()
        self.status = "Ready: edit the set and click Run."

    # -- construction ------------------------------------------------------------------
    def _build(self, template, words, contrast, sentences, n, seed, steps) -> None:
        W = widgets.Layout
        self.mode = widgets.ToggleButtons(options=["template", "sentences"], value="template" if not sentences
                                          else "sentences")
        self.template_box = widgets.Text(value=template, description="template", layout=W(width="98%"))
        self.words_box = widgets.Textarea(value=words, description="words", rows=5, layout=W(width="98%"))
        self.sentences_box = widgets.Textarea(value=sentences, description="sentences", rows=5,
                                              placeholder="one sentence per line", layout=W(width="98%"))
        self.contrast_box = widgets.Text(value=contrast, description="contrast", layout=W(width="60%"))
        self.n_box = widgets.BoundedIntText(value=n, min=0, max=1_000_000, description="n (0 = all)",
                                            layout=W(width="180px"))
        self.seed_box = widgets.IntText(value=seed, description="seed", layout=W(width="150px"))
        self.steps_box = widgets.BoundedIntText(value=steps, min=2, max=5000, description="steps",
                                                layout=W(width="150px"))
        self.run_button = widgets.Button(description="Run", icon="play", button_style="primary")
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True)
        self.run_button.on_click(lambda _b: self.run())
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.progress = widgets.IntProgress(value=0, min=0, max=1, layout=W(width="240px"))
        self.status_line = widgets.HTML()
        self.error_line = widgets.HTML()
        self.split_box = widgets.Dropdown(options=[("nothing", "")], value="", description="split by")
        self.condition_box = widgets.Dropdown(options=[ALL], value=ALL, description="condition")
        self.role_box = widgets.Dropdown(options=[], description="role")
        for box in (self.split_box, self.condition_box, self.role_box):
            box.observe(self._on_selector, names="value")
        row, col, color = OrdinalScale(reverse=True), OrdinalScale(), ColorScale(min=0, max=1, colors=["#ffffff",
                                                                                                         "#084594"])
        self.heatmap = CellGrid(color=np.zeros((2, 2)), row=[1, 2], column=["skip", "h0"],  # bqplot squeezes 1×1
                                   scales={"row": row, "column": col, "color": color},
                                   interactions={"click": "select"}, selected_style={"stroke": "#e6550d",
                                                                                     "stroke-width": "3"},
                                   anchor_style={"stroke": "#e6550d"})
        self.heatmap.observe(self._on_cell, names="selected")
        self.heat_figure = Figure(marks=[self.heatmap], axes=[
            Axis(scale=row, side="left", label="layer"), Axis(scale=col, label="route"),
            ColorAxis(scale=color, side="right", label="share", num_ticks=3, tick_format=".0%")], title="",
            fig_margin={"top": 40, "bottom": 50, "left": 60, "right": 80}, layout=W(width="560px", height="360px"))
        self.table = widgets.HTML()
        self.cell_line = widgets.HTML("<i>Click a cell: the sentences whose pattern passes there.</i>")
        self.cell_sentences = widgets.Select(options=[], rows=6, layout=W(width="98%"))
        self.open_button = widgets.Button(description="Open in Explorer", icon="search", disabled=True)
        self.open_button.on_click(lambda _b: self.open_selected())
        self.explorer_box = widgets.VBox()
        self.ab_layer = widgets.Dropdown(options=[1], description="layer", layout=W(width="160px"))
        self.ab_head = widgets.Dropdown(options=[SKIP], description="head", layout=W(width="160px"))
        self.ab_at = widgets.Dropdown(options=[], description="at", layout=W(width="240px"))
        self.ab_button = widgets.Button(description="Ablate", icon="cut")
        self.ab_button.on_click(lambda _b: self.run_ablation())
        self.ab_table = widgets.HTML()
        # Bins on an ordinal scale, counts from 0 on a fixed y range: on a linear x scale
        # bqplot drew the bars 1 px wide and 0 px tall with the axis running 50 to −50 (issue 19.1).
        sx, self.ab_y = OrdinalScale(), LinearScale(min=0, max=1)
        self.ab_bars = Bars(x=[], y=[], scales={"x": sx, "y": self.ab_y}, type="grouped", padding=0.15,
                            colors=[c for _n, c in HIST_SERIES], labels=[n for n, _c in HIST_SERIES],
                            display_legend=False)
        self.ab_figure = Figure(marks=[self.ab_bars], axes=[
            Axis(scale=sx, label="q (bin centre)", tick_rotate=-45),
            Axis(scale=self.ab_y, side="left", label="sentences", tick_format="d")],
            title="q before / after ablation / random control", animation_duration=0,
            fig_margin={"top": 50, "bottom": 70, "left": 60, "right": 20}, layout=W(width="560px", height="320px"))
        self.ab_legend = widgets.HTML(" ".join(f"<span style='color:{c}'>■</span> {n}" for n, c in HIST_SERIES))
        self.export_buttons = {}
        for kind in ("csv", "json", "svg", "html"):
            b = widgets.Button(description=kind.upper(), icon="download", layout=W(width="80px"))
            b.on_click(lambda _b, k=kind: self._export_clicked(k))
            b.add_class(f"ipyinfluence-study-export-{kind}")
            self.export_buttons[kind] = b
        self.export_line = widgets.HTML()
        for w, cls in ((self.run_button, "run"), (self.cancel_button, "cancel"), (self.status_line, "status"),
                       (self.error_line, "error"), (self.heat_figure, "heatmap"), (self.table, "table"),
                       (self.cell_sentences, "cell-sentences"), (self.open_button, "open"),
                       (self.ab_button, "ablate"), (self.ab_table, "ablation"), (self.ab_figure, "histogram"),
                       (self.template_box, "template"), (self.words_box, "words"), (self.contrast_box, "contrast")):
            w.add_class(f"ipyinfluence-study-{cls}")

    def _children(self) -> list:
        H, L = widgets.HBox, widgets.Layout
        return [self.mode, self.template_box, self.words_box, self.sentences_box, self.contrast_box,
                H([self.n_box, self.seed_box, self.steps_box]),
                H([self.run_button, self.cancel_button, self.progress], layout=L(align_items="center")),
                self.status_line, self.error_line,
                H([self.split_box, self.condition_box, self.role_box]),
                H([self.heat_figure, widgets.VBox([self.cell_line, self.cell_sentences, self.open_button])]),
                self.table,
                widgets.HTML("<b>Ablation</b> (zero the node in every sentence; a random control zeroes as many)"),
                H([self.ab_layer, self.ab_head, self.ab_at, self.ab_button]), self.ab_table, self.ab_legend,
                self.ab_figure,
                H([widgets.Label("export:")] + list(self.export_buttons.values()) + [self.export_line],
                  layout=L(align_items="center")),
                self.explorer_box]

    # -- the set -----------------------------------------------------------------------
    def load(self) -> InfluenceModel:
        if self.model is None:
            self.model = load_model(self._model_source)
        return self.model

    def build_set(self) -> SentenceSet:
        """The sentence set the editor describes (raises InputError on bad input)."""
        model = self.load()
        qoi = self.qoi_arg if self.qoi_arg is not None else parse_contrast(self.contrast_box.value)
        if self.mode.value == "sentences":
            if isinstance(qoi, ContrastBy):
                raise InputError("pasted sentences have no slots: write the contrast as 'good/bad' (e.g. is/are).")
            return SentenceSet.from_texts(self.sentences_box.value.splitlines(), model, qoi)
        n = self.n_box.value or None
        return SentenceSet.from_template(self.template_box.value, parse_words(self.words_box.value), model, qoi,
                                         n=n, seed=self.seed_box.value)

    # -- running -----------------------------------------------------------------------
    def run(self, background: Optional[bool] = None):
        """Build the set and explain it (resuming a study with the same set, model and options)."""
        if self.running:
            self.status = "A run is in progress: wait for it or click Cancel."
            return self._thread
        self._cancel.clear()
        self.error = ""
        try:
            sentences = self.build_set()
            same = self.study is not None and self.study.sentences.to_dict() == sentences.to_dict() \
                and self.study.options["steps"] == self.steps_box.value
            if not same:
                self.study = Study(self.model, sentences, path=self.path, steps=self.steps_box.value)
        except Exception as e:  # noqa: BLE001 - a widget never dies
            self._fail(e)
            return None
        self.running = True
        if self.background if background is None else background:
            self._thread = threading.Thread(target=self._run_guarded, name="ipyinfluence-study", daemon=True)
            self._thread.start()
            return self._thread
        self._run_guarded()
        return self.study

    def wait(self, timeout: Optional[float] = None) -> Optional[Study]:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.study

    def cancel(self) -> None:
        if not self.running:
            self.status = "Nothing to cancel: no run in progress."
            return
        self._cancel.set()
        self.status = "Cancelling after the current sentence…"

    def _run_guarded(self) -> None:
        try:
            self._run_study()
        except Exception as e:  # noqa: BLE001
            self._fail(e)
        finally:
            self.running = False

    def _fail(self, e: Exception) -> None:
        if not isinstance(e, InfluenceError):
            self.last_traceback = traceback.format_exc()
        self.error = str(e) if isinstance(e, InfluenceError) else f"{type(e).__name__}: {e}"
        self.status = "Error: the earlier results are unchanged."

    def _run_study(self) -> None:
        study = self.study
        self.total, self.done = len(study), len(study.explanations)
        with self.progress.hold_sync():
            self.progress.max, self.progress.value, self.progress.bar_style = max(1, self.total), self.done, "info"
        self.status = f"Running: {self.done} of {self.total} sentences…"
        self.refresh()
        drawn = time.perf_counter()
        for _i, _e in study.iter_run():
            self.done = len(study.explanations)
            self.progress.value = self.done
            self.status = f"Running: {self.done} of {self.total} sentences…"
            if time.perf_counter() - drawn >= self.refresh_every:
                self.refresh()
                drawn = time.perf_counter()
            if self._cancel.is_set():
                break
        self.refresh()
        if self.done < self.total:
            self.progress.bar_style = "warning"
            self.status = f"Cancelled after {self.done} of {self.total} sentences; the sentences done stay."
        else:
            self.progress.bar_style = "success"
            self.status = f"Done: {self.total} sentences."

    # -- reading ---------------------------------------------------------------------
    def refresh(self) -> None:
        """Recompute the aggregates and redraw the selectors, heat map and table."""
        study = self.study
        if study is None or not study.explanations:
            return
        self.aggregates = study.aggregate(by=self._split())
        agg = self.aggregates
        labels = sorted({k for inst in study.instances for k in inst.labels})
        slots = sorted({k for inst in study.instances for k in inst.slots})
        splits = [("nothing", ""), ("sentence type", "sentence_type"), ("correct vs wrong", "correct")] + \
                 [(f"label of {s}", f"label:{s}") for s in labels] + [(f"{s} word", f"slot:{s}") for s in slots]
        roles = agg.roles
        with self.hold_trait_notifications():
            _set_options(self.split_box, splits)
            _set_options(self.condition_box, agg.conditions)
            _set_options(self.role_box, roles, prefer="subject")
            _set_options(self.ab_layer, list(range(1, agg.num_layers + 1)))
            _set_options(self.ab_head, [SKIP] + list(range(agg.num_heads)), keep_first=False)
            _set_options(self.ab_at, [("every position", "")] + [(r, r) for r in study.sentences.roles], prefer="subject")
        self.redraw()

    def redraw(self) -> None:
        agg, role, cond = self.aggregates, self.role_box.value, self.condition_box.value
        if agg is None or role not in agg.roles or role not in agg.groups.get(cond, {}):
            return
        grid = np.array(agg.heatmap(role, cond), dtype=float)
        with self.heatmap.hold_sync():  # colour first: bqplot checks rows/columns against it
            self.heatmap.color = grid
            self.heatmap.row = list(range(1, agg.num_layers + 1))
            self.heatmap.column = agg.route_columns()
        a = agg.get(role, cond)
        self.heat_figure.title = f"{role} · {cond}: {a.count} patterns"
        self.table.value = aggregate_table_html(agg, cond)
        self._list_cell(self.heatmap.selected)  # the list follows what the heat map now shows

    def _split(self):
        """The split-by box's choice as :meth:`Study.aggregate` takes it (None: no split).

        A condition value spelled like the every-sentence group (``"all"``: a slot word, a
        label) is keyed quoted by the engine (:func:`~ipyinfluence.study.aggregate.condition_key`),
        so it is a condition of its own: merged into the group it hung the split (issue 16.1)."""
        return self.split_box.value or None

    def _on_selector(self, change) -> None:
        if change["owner"] is self.split_box:
            self.refresh()
        else:
            self.redraw()
        self.heatmap.selected = None
        self._list_cell(None)  # no cell picked under the new choice: no stale sentences (issue 19.7)

    def cell(self, layer: int, route) -> list[int]:
        """Indices of the sentences whose role pattern takes ``route`` into ``layer``."""
        return self.study.sentences_through(self.role_box.value, layer, route, by=self._split(),
                                            condition=self.condition_box.value)

    def _on_cell(self, change) -> None:
        self._list_cell(change["new"])

    def _list_cell(self, sel) -> None:
        """List the sentences through the selected cell; none selected: an empty list."""
        if sel is None or np.size(sel) < 2 or self.aggregates is None:
            self.cell_line.value = "<i>Click a cell: the sentences whose pattern passes there.</i>"
            self.cell_sentences.options = []
            self.open_button.disabled = True
            return
        try:
            r, c = (int(v) for v in np.asarray(sel).reshape(-1, 2)[0])  # bqplot squeezes one cell to (2,)
            layer = r + 1
            route = SKIP if c == 0 else c - 1
            hits = self.cell(layer, route)
            name = "skip" if route == SKIP else f"head {route}"
            self.cell_line.value = esc(f"{len(hits)} sentences ({self.condition_box.value}): the "
                                       f"{self.role_box.value}'s pattern takes {name} into layer {layer}")
            self.cell_sentences.options = [(self.study.instances[i].text, i) for i in hits]
            self.open_button.disabled = not hits
        except Exception as e:  # noqa: BLE001
            self._fail(e)

    def open_selected(self):
        """Show the selected sentence's explanation in an :class:`Explorer` below the view."""
        i = self.cell_sentences.value
        if i is None:
            return None
        from .explorer import Explorer

        e = self.study.explanations[i]
        ex = Explorer(self.study.model, text=e.text, qoi=self.study.qoi(i), steps=e.steps,
                      quadrature=e.quadrature, level=e.level)
        ex.explanation = e
        ex.chips.set_words(e.tokens, e.sources)
        ex.graph.set_explanation(e)
        ex.bars.set_explanation(e)
        ex.status = f"Sentence {i} of the study (computed by the study; Run recomputes it)."
        self.explorer = ex
        self.explorer_box.children = [ex]
        return ex

    # -- ablation --------------------------------------------------------------------
    def run_ablation(self):
        """Ablate the chosen head (or skip) at the chosen role in every explained sentence."""
        try:
            if self.study is None or not self.study.explanations:
                raise InputError("nothing to ablate yet: run the study first.")
            self.status = "Ablating…"
            at = self.ab_at.value or None
            result = self.study.ablate(layer=self.ab_layer.value, head=self.ab_head.value, at=at)
        except Exception as e:  # noqa: BLE001
            self._fail(e)
            return None
        self.ablation = result
        self.ab_table.value = ablation_html(result)
        labels, counts = ablation_histogram(result)
        with self.ab_bars.hold_sync():
            self.ab_bars.x = labels
            self.ab_bars.y = np.array(counts, dtype=float)
        with self.ab_y.hold_sync():
            self.ab_y.min, self.ab_y.max = 0.0, float(max(1, max(max(row) for row in counts)))
        self.status = f"Ablated {result.description}: accuracy {result.accuracy_before:.0%} → " \
                      f"{result.accuracy_after:.0%} (random control {result.accuracy_control:.0%})."
        return result

    # -- export ----------------------------------------------------------------------
    def export(self, kind: str, path: Optional[str] = None) -> str:
        """Aggregates as "csv" / "json", the view as "svg" / "html"; written to ``path`` if given."""
        if self.aggregates is None:
            raise InputError("nothing to export yet: run the study first.")
        agg, role, cond = self.aggregates, self.role_box.value, self.condition_box.value
        if kind == "csv":
            text = agg.to_csv()
        elif kind == "json":
            text = agg.to_json(indent=1)
        elif kind == "svg":
            text = heatmap_svg(agg, role, cond)
        elif kind == "html":
            desc = self.study.sentences.template or f"{len(self.study)} sentences"
            text = study_html(agg, role, cond, model=self.study.model.name, description=desc, ablation=self.ablation)
        else:
            raise InputError(f"export kind must be csv, json, svg or html; got {kind!r}.")
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def _export_clicked(self, kind: str) -> None:
        try:
            text = self.export(kind)
            data = base64.b64encode(text.encode("utf-8")).decode("ascii")
            name = f"ipyinfluence-study.{kind}"
            self.export_line.value = (f"<a download='{name}' href='data:{MIME[kind]};base64,{data}' "
                                      f"class='ipyinfluence-download'>download {name}</a>")
        except Exception as e:  # noqa: BLE001
            self.export_line.value = f"<span style='color:#b00020'>{esc(str(e))}</span>"

    # -- trait reactions -------------------------------------------------------------
    def _on_error_trait(self, change) -> None:
        msg = change["new"]
        self.error_line.value = f"<span style='color:#b00020'>{esc(msg)}</span>" if msg else ""

    def _on_running(self, change) -> None:
        self.run_button.disabled = change["new"]
        self.cancel_button.disabled = not change["new"]


def _set_options(box: widgets.Dropdown, options: list, prefer: Any = None, keep_first: bool = True) -> None:
    values = [o[1] if isinstance(o, tuple) else o for o in options]
    current = box.value
    box.options = options
    if current in values:
        box.value = current
    elif prefer in values:
        box.value = prefer
    elif values:
        box.value = values[0]
