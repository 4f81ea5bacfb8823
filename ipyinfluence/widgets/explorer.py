"""``Explorer``: type a sentence, pick a QoI, run GPR and watch the patterns stream in.

Layout, top to bottom: the model line, the text box, the QoI editor (fits the model
head, see :mod:`.qoi_editor`), options (baseline, method, level, steps, top_k, palette),
Run / Cancel with a progress bar, status and error lines, the token chips (which
patterns to draw), the :class:`PatternGraph`, the :class:`InfluenceBars`, and export
buttons (SVG / HTML / JSON as download links; also written to ``export_dir`` when set).

Running: :meth:`run` iterates ``iter_explain(..., max_batch=steps)`` (one word per chunk)
and updates the graph, bars and progress after each word. Inline (the default) the loop
blocks the kernel: the browser sees every update as it is sent, but a Cancel click is
only processed after the run (Colab does not render widget updates sent from threads,
so inline stays the default). ``background=True`` runs the loop in a worker thread so
Cancel clicks are handled while it runs; :meth:`cancel` (or a callback) stops the run
after the current word, keeping the words computed so far.

A widget never dies: bad input, a model error (``InfluenceError`` or any exception) or a
cancelled run shows a message and leaves the earlier results and every control usable.

State is in traitlets (``text``, ``status``, ``error``, ``running``, ``level``, ``steps``,
``top_k``, ``baseline``, ``method``, ``palette``, ``words_done``, ``words_total``,
``explanation``); callbacks are registered with ``on_start``, ``on_word``, ``on_done``,
``on_cancel`` and ``on_error`` (in background mode they run in the worker thread). Stable
CSS classes (``ipyinfluence-explorer``,
``-run``, ``-cancel``, ``-chip``, ``-graph``, ``-text``, ``-status``, ``-error``, ...)
let browser tests find the parts.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import re
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Optional, Union

import ipywidgets as widgets
import traitlets

from ..errors import InfluenceError
from .. import explanation_stream
from ..explanation_stream import iter_explain
from ..integration import INPUT_BASELINES
from ..model import InfluenceModel, load_model
from ..results import Explanation, WordResult
from .colab import enable_colab_widgets
from .export import export_text
from .influence_bars import InfluenceBars
from .pattern_graph import PatternGraph
from .progress import RunProgress
from .qoi_editor import QoIEditor
from .style import PALETTES
from .token_chips import TokenChips

MASKED_LM_TEXT = "the author that the guards like [MASK] happy ."
SENTIMENT_TEXT = "the movie was not good ."
EXPORT_MIME = {"svg": "image/svg+xml", "html": "text/html", "json": "application/json"}


def default_text(task: Optional[str], mask_token: Optional[str] = "[MASK]") -> str:
    """The sentence a new Explorer starts with for a model head (paper examples)."""
    if task in (None, "masked-lm"):
        return MASKED_LM_TEXT.replace("[MASK]", mask_token or "[MASK]")
    return SENTIMENT_TEXT


def available_methods() -> tuple[str, ...]:
    """Pattern methods the engine offers now (read at construction: more may be added)."""
    return tuple(explanation_stream.METHODS)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "explanation"


class Explorer(widgets.VBox):
    """Interactive influence patterns for one model (see the module doc).

    ``model``: an :class:`InfluenceModel`, anything :func:`load_model` accepts, or None
    for the default model (loaded on the first run, or by :meth:`load`). ``text`` and
    ``qoi`` default to the paper's examples for the model head.
    """

    text = traitlets.Unicode("")
    status = traitlets.Unicode("")
    error = traitlets.Unicode("")
    running = traitlets.Bool(False)
    level = traitlets.Unicode("attention")
    steps = traitlets.Int(51)
    top_k = traitlets.Int(1)
    baseline = traitlets.Unicode("mask")
    method = traitlets.Unicode("gpr")
    palette = traitlets.Unicode("paper")
    words_done = traitlets.Int(0)
    words_total = traitlets.Int(0)
    preview_steps = traitlets.Int(0)  # > 0: progressive mode, a coarse preview of every word first
    explanation = traitlets.Instance(Explanation, allow_none=True)

    def __init__(self, model: Any = None, text: Optional[str] = None, qoi: Any = None, *, steps: int = 51,
                 level: str = "attention", top_k: int = 1, baseline: str = "mask", method: str = "gpr",
                 palette: str = "paper", background: bool = False, preview_steps: int = 0,
                 export_dir: Optional[Union[str, Path]] = None, **kwargs):
        enable_colab_widgets()
        self.preview_steps = preview_steps
        self.model: Optional[InfluenceModel] = model if isinstance(model, InfluenceModel) else None
        self._model_source = model
        self._qoi_arg = qoi
        self.background = background
        self.export_dir = Path(export_dir) if export_dir is not None else None
        self.last_traceback = ""
        self._stream_started = False  # the current run got past input checks
        self._cancel = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._dispatchers = {name: widgets.CallbackDispatcher()
                             for name in ("start", "word", "done", "cancel", "error")}
        self._text_is_default = text is None
        self._build_controls(baseline, palette)
        super().__init__(self._layout_children(), **kwargs)
        self.add_class("ipyinfluence-explorer")

        for name, widget in (("text", self.text_box), ("level", self.level_toggle), ("steps", self.steps_box),
                             ("top_k", self.top_k_box), ("baseline", self.baseline_box),
                             ("method", self.method_box), ("palette", self.palette_box)):
            traitlets.link((self, name), (widget, "value"))
        self.observe(self._on_running, names="running")
        self.observe(self._on_error_trait, names="error")
        self.observe(self._on_status_trait, names="status")
        self.observe(self._on_text, names="text")
        self.observe(self._on_level, names="level")
        self.observe(self._on_palette, names="palette")
        self.chips.observe(self._on_chips, names="selected")
        self.qoi_editor.observe(lambda _c: self._update_text_hint(), names="task")

        if method not in self.method_box.options:
            raise InfluenceError(f"method must be one of {tuple(self.method_box.options)}; got {method!r}.")
        if level not in self.level_toggle.options:
            raise InfluenceError(f"level must be 'embedding' or 'attention'; got {level!r}.")
        self.steps, self.top_k, self.method, self.baseline = steps, top_k, method, baseline
        self.level, self.palette = level, palette
        self.text = text if text is not None else default_text(
            self.model.task if self.model else None, self.model.mask_token if self.model else "[MASK]")
        self._text_is_default = text is None  # the assignment above is ours, not the user's
        if self.model is not None:
            self._show_model()
        self.status = "Ready: click Run." if self.model is not None else \
            "Ready: click Run (the model loads on the first run)."

    # -- construction -----------------------------------------------------------------
    def _build_controls(self, baseline: str, palette: str) -> None:
        W = widgets.Layout
        self.model_line = widgets.HTML()
        self.model_line.add_class("ipyinfluence-model")
        if self.model is None:
            what = "the default model" if self._model_source is None else html.escape(str(self._model_source))
            self.model_line.value = f"<b>Model</b>: {what} <i>(loads on the first run)</i>"
        self.text_box = widgets.Textarea(placeholder="Type a sentence", rows=2, continuous_update=False,
                                         layout=W(width="98%"))
        self.text_box.add_class("ipyinfluence-text")
        self.text_hint = widgets.HTML()
        self.text_hint.add_class("ipyinfluence-text-hint")
        self.qoi_editor = QoIEditor(self.model, self._qoi_arg)
        baselines = list(INPUT_BASELINES) + ([baseline] if baseline not in INPUT_BASELINES else [])
        self.baseline_box = widgets.Dropdown(options=baselines, value=baseline, description="baseline",
                                             layout=W(width="230px"))
        self.method_box = widgets.Dropdown(options=available_methods(), description="method",
                                           layout=W(width="200px"))
        self.level_toggle = widgets.ToggleButtons(options=["embedding", "attention"], value="attention",
                                                  tooltips=["π^e: one node per layer",
                                                            "π^a: also the head or skip route per layer"])
        self.level_toggle.style.button_width = "90px"
        self.steps_box = widgets.BoundedIntText(value=51, min=2, max=5000, description="steps",
                                                layout=W(width="150px"))
        self.top_k_box = widgets.BoundedIntText(value=1, min=1, max=512, description="top_k",
                                                layout=W(width="150px"))
        self.palette_box = widgets.Dropdown(options=[("green / red (paper)", "paper"),
                                                     ("blue / orange (colour-blind safe)", "colorblind")],
                                            value=palette if palette in PALETTES else "paper",
                                            description="colours", layout=W(width="300px"))
        for w, cls in ((self.baseline_box, "baseline"), (self.method_box, "method"), (self.level_toggle, "level"),
                       (self.steps_box, "steps"), (self.top_k_box, "top-k"), (self.palette_box, "palette")):
            w.add_class(f"ipyinfluence-{cls}")
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play",
                                         tooltip="compute the influence patterns")
        self.run_button.add_class("ipyinfluence-run")
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True,
                                            tooltip="stop after the current word (keeps the words done)")
        self.cancel_button.add_class("ipyinfluence-cancel")
        self.run_button.on_click(lambda _b: self.run())
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.progress = RunProgress()
        self.status_line = widgets.HTML()
        self.status_line.add_class("ipyinfluence-status")
        self.error_line = widgets.HTML()
        self.error_line.add_class("ipyinfluence-error")
        self.chips = TokenChips()
        self.graph = PatternGraph(palette=self.palette_box.value)
        self.bars = InfluenceBars()
        self.export_buttons = {}
        for kind in ("svg", "html", "json"):
            b = widgets.Button(description=kind.upper(), icon="download", layout=W(width="90px"),
                               tooltip=f"export the patterns as {kind.upper()}")
            b.add_class(f"ipyinfluence-export-{kind}")
            b.on_click(lambda _b, k=kind: self._export_clicked(k))
            self.export_buttons[kind] = b
        self.export_line = widgets.HTML()
        self.export_line.add_class("ipyinfluence-export")

    def _layout_children(self) -> list:
        H = widgets.HBox
        return [
            self.model_line,
            self.text_box,
            self.text_hint,
            self.qoi_editor,
            H([self.baseline_box, self.method_box, self.level_toggle]),
            H([self.steps_box, self.top_k_box, self.palette_box]),
            H([self.run_button, self.cancel_button, self.progress], layout=widgets.Layout(align_items="center")),
            self.status_line,
            self.error_line,
            self.chips,
            self.graph,
            self.bars,
            H([widgets.Label("export:")] + list(self.export_buttons.values()) + [self.export_line],
              layout=widgets.Layout(align_items="center")),
        ]

    # -- callbacks ------------------------------------------------------------------
    def on_start(self, callback: Callable[[Explanation], Any], remove: bool = False) -> None:
        """``callback(explanation)`` when a run's stream is ready (no words yet)."""
        self._dispatchers["start"].register_callback(callback, remove=remove)

    def on_word(self, callback: Callable[[WordResult], Any], remove: bool = False) -> None:
        """``callback(word_result)`` after each word is drawn."""
        self._dispatchers["word"].register_callback(callback, remove=remove)

    def on_done(self, callback: Callable[[Explanation], Any], remove: bool = False) -> None:
        """``callback(explanation)`` when every word is done."""
        self._dispatchers["done"].register_callback(callback, remove=remove)

    def on_cancel(self, callback: Callable[[Explanation], Any], remove: bool = False) -> None:
        """``callback(partial_explanation)`` when a run stops on :meth:`cancel`."""
        self._dispatchers["cancel"].register_callback(callback, remove=remove)

    def on_error(self, callback: Callable[[str], Any], remove: bool = False) -> None:
        """``callback(message)`` when a run fails."""
        self._dispatchers["error"].register_callback(callback, remove=remove)

    # -- model ------------------------------------------------------------------------
    def load(self) -> InfluenceModel:
        """Load the model now (the first run does it otherwise) and show its QoI fields."""
        if self.model is None:
            self.status = "Loading the model…"
            model = load_model(self._model_source)
            self.model = model
            self._show_model()
        return self.model

    def _show_model(self) -> None:
        m = self.model
        note = f" — {html.escape(m.note)}" if m.note else ""
        self.model_line.value = (f"<b>Model</b>: {html.escape(m.name)} ({m.task}, {m.num_layers} layers, "
                                 f"{m.num_heads} heads){note}")
        if self.qoi_editor.model is not m:
            self.qoi_editor.set_model(m, self._qoi_arg)
        if self._text_is_default:
            self.text = default_text(m.task, m.mask_token)
            self._text_is_default = True
        self._update_text_hint()

    # -- running ----------------------------------------------------------------------
    def run(self, background: Optional[bool] = None):
        """Compute the patterns for the current text and options.

        Inline (default) returns the explanation (partial when cancelled, the previous one
        on an error); with ``background=True`` (here or at construction) returns the worker
        thread at once (see :meth:`wait`).
        """
        if self.running:
            self.status = "A run is in progress: wait for it or click Cancel."
            return self._thread if self._thread is not None else self.explanation
        self._cancel.clear()
        self.error = ""
        self.running = True
        if self.background if background is None else background:
            self._thread = threading.Thread(target=self._run_guarded, name="ipyinfluence-explorer", daemon=True)
            self._thread.start()
            return self._thread
        self._run_guarded()
        return self.explanation

    def wait(self, timeout: Optional[float] = None) -> Optional[Explanation]:
        """Block until a background run ends; returns the explanation."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.explanation

    def cancel(self) -> None:
        """Stop the running stream after the current word; the words done stay."""
        if not self.running:
            self.status = "Nothing to cancel: no run in progress."
            return
        self._cancel.set()
        self.status = "Cancelling after the current word…"

    def _run_guarded(self) -> None:
        try:
            self._run_stream()
        except InfluenceError as e:
            self._fail(str(e))
        except Exception as e:  # noqa: BLE001 - a widget never dies: show it, keep the controls
            self.last_traceback = traceback.format_exc()
            self._fail(f"{type(e).__name__}: {e}")
        finally:
            self.running = False

    def _fail(self, message: str) -> None:
        if self._stream_started:
            self.progress.finish(self.words_done, "error")
            self.status = f"Error after {self.words_done} of {self.words_total} words; the words done stay."
        else:
            self.status = "Error: the earlier results are unchanged."
        self.error = message
        self._dispatchers["error"](message)

    def _run_stream(self) -> None:
        self._stream_started = False
        model = self.load()
        qoi = self.qoi_editor.qoi()
        options = dict(baseline=self.baseline, level=self.level, top_k=self.top_k, method=self.method)
        preview = None
        if 0 < self.preview_steps < self.steps:
            # Progressive mode: every word from a few-step run at once (checks the input too),
            # then each word is replaced by its exact result as it arrives.
            self.status = f"Preview: all words with {self.preview_steps} steps…"
            preview = iter_explain(model, self.text, qoi, steps=self.preview_steps, **options).result()
            self._stream_started = True
            self.chips.set_words(preview.tokens, preview.sources)
            self.graph.selected = None
            self.graph.set_explanation(preview)
            self.bars.set_explanation(preview)
            self.status = f"Preview ({self.preview_steps} steps) shown; refining with {self.steps} steps…"
        else:
            self.status = "Preparing: one forward and backward pass over the interpolation steps…"
        stream = iter_explain(model, self.text, qoi, steps=self.steps, max_batch=self.steps, **options)
        # The input is valid: from here on the new (possibly partial) results replace the old.
        self._stream_started = True
        expl = stream.explanation
        self.words_done, self.words_total = 0, stream.total
        self.explanation = expl
        self.chips.set_words(expl.tokens, expl.sources)
        self.graph.selected = None
        # With a preview, draw a copy holding the preview words; exact words replace them one by one.
        shown = expl if preview is None else dataclasses.replace(expl, words=list(preview.words))
        self.graph.set_explanation(shown)
        self.bars.set_explanation(shown)
        self.progress.start(stream.total)
        self.status = f"Running: 0 of {stream.total} words…"
        self._dispatchers["start"](expl)
        started = time.perf_counter()
        while not self._cancel.is_set():
            try:
                word = next(stream)
            except StopIteration:
                break
            self._show_word(word)
            self._dispatchers["word"](word)
        done = len(expl.words)
        if done < stream.total:
            self.progress.finish(done, "cancelled")
            self.status = f"Cancelled after {done} of {stream.total} words; the words done stay."
            self._dispatchers["cancel"](expl)
        else:
            if preview is not None:
                self.graph.set_explanation(expl)
                self.bars.set_explanation(expl)
            self.progress.finish(done, "done")
            self.status = f"Done: {done} words in {time.perf_counter() - started:.1f} s. {expl.qoi}: " \
                          f"q(x) = {expl.q_input:+.3g}, q(baseline) = {expl.q_baseline:+.3g}."
            self._dispatchers["done"](expl)

    def _show_word(self, word: WordResult) -> None:
        self.graph.add_word(word)
        self.bars.add_word(word)
        self.chips.mark_done(word)
        self.words_done = len(self.explanation.words)
        self.progress.update(self.words_done)
        self.status = f"Running: {self.words_done} of {self.words_total} words…"

    # -- export ---------------------------------------------------------------------------
    def export(self, kind: str, path: Optional[Union[str, Path]] = None) -> str:
        """The current explanation as "svg", "html" or "json" text (as drawn: the shown
        words, level and palette for SVG/HTML); also written to ``path`` when given."""
        if self.explanation is None:
            raise InfluenceError("nothing to export yet: click Run first.")
        kwargs = {} if kind == "json" else dict(words=self.graph.selected, level=self.level, palette=self.palette)
        text = export_text(self.explanation, kind, **kwargs)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text, encoding="utf-8")
        return text

    def _export_clicked(self, kind: str) -> None:
        try:
            name = f"ipyinfluence-{_slug(self.explanation.text if self.explanation else '')}.{kind}"
            path = self.export_dir / name if self.export_dir is not None else None
            text = self.export(kind, path)
            data = base64.b64encode(text.encode("utf-8")).decode("ascii")
            link = (f"<a download='{html.escape(name)}' href='data:{EXPORT_MIME[kind]};base64,{data}' "
                    f"class='ipyinfluence-download'>download {html.escape(name)}</a>")
            saved = f" · written to <code>{html.escape(str(path.resolve()))}</code>" if path is not None else ""
            self.export_line.value = link + saved
        except Exception as e:  # noqa: BLE001 - a widget never dies
            self.export_line.value = f"<span style='color:#b00020'>{html.escape(str(e))}</span>"

    # -- trait reactions ---------------------------------------------------------------
    def _on_running(self, change) -> None:
        running = change["new"]
        self.run_button.disabled = running
        self.cancel_button.disabled = not running

    def _on_error_trait(self, change) -> None:
        msg = change["new"]
        self.error_line.value = f"<span style='color:#b00020'>⚠ {html.escape(msg)}</span>" if msg else ""

    def _on_status_trait(self, change) -> None:
        self.status_line.value = html.escape(change["new"])

    def _on_text(self, _change) -> None:
        self._text_is_default = False
        self._update_text_hint()

    def _update_text_hint(self) -> None:
        m = self.model
        hint = ""
        if m is not None and m.task == "masked-lm" and self.qoi_editor._position is None:
            mask = m.mask_token or "[MASK]"
            count = self.text.count(mask)
            if count == 0:
                hint = f"The text has no {mask}: the masked-LM QoI reads its prediction there; add one."
            elif count > 1:
                hint = f"The text has {count} {mask} tokens; keep one."
        if not self.text.strip():
            hint = "Type a sentence."
        self.text_hint.value = f"<small style='color:#a05a00'>{html.escape(hint)}</small>" if hint else ""

    def _on_level(self, change) -> None:
        if change["new"] not in ("embedding", "attention"):
            self.level = change["old"]
            return
        self.graph.level = change["new"]

    def _on_palette(self, change) -> None:
        if change["new"] in PALETTES:
            self.graph.palette = change["new"]

    def _on_chips(self, change) -> None:
        try:
            shown = change["new"]
            self.graph.select_words(None if len(shown) == len(self.chips.chips) else shown)
        except Exception as e:  # noqa: BLE001 - a widget never dies
            self.error = f"could not redraw: {e}"
