"""``Explorer``: type a sentence, pick a QoI, run GPR and watch the patterns stream in.

Layout, top to bottom: the model line, the text box (and a hint line: a missing
``[MASK]``, or one the QoI does not read), the QoI editor (fits the model head, see
:mod:`.qoi_editor`), options (baseline, method, level, steps, top_k, palette), Run /
Cancel with a progress bar, status and error lines, the token chips (which words to
draw, and with "compute only the selected words" which words to compute), the views
(:attr:`Explorer.views`: the :class:`PatternGraph` and the :class:`InfluenceBars`, any
object with ``set_explanation`` / ``add_word`` / ``redraw``, see :mod:`.views`), and
export buttons (SVG / HTML / JSON as download links; also written to ``export_dir``).

Running (:mod:`.run_loop` says why, with the measurements): the **Run button** runs in
a worker thread (inline in Colab), so **Cancel** stops the run after the current word,
keeping the words done; :meth:`run` called in a cell runs inline, handles Cancel clicks
between words (``jupyter-ui-poll``) and returns the explanation. ``background=True`` /
``False`` forces one way for both. Views redraw in batches (at most every ~0.15 s), not
per word. ``preview_steps > 0`` switches on **progressive mode**: every word from a
coarse run first, each replaced by its exact result as it arrives
(:func:`ipyinfluence.progressive.iter_progressive`). ``threads`` sets the torch threads
of a run (default "auto", see :mod:`ipyinfluence.threads`).

A widget never dies: bad input, a model error (``InfluenceError`` or any exception), a
Cancel or a Ctrl-C shows a message and leaves the earlier results and every control
usable. State is in traitlets (``text``, ``status``, ``error``, ``running``, ``level``,
``steps``, ``top_k``, ``baseline``, ``method``, ``palette``, ``only_selected``,
``words_done``, ``words_total``, ``explanation``); a choice trait and its box always
agree (a bad value raises ``TraitError`` and changes neither; ``steps``/``top_k`` are
clamped to the boxes' ranges). Callbacks: ``on_start``, ``on_word``, ``on_done``,
``on_cancel``, ``on_error`` (in a worker-thread run they run in the worker).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import importlib
import re
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Optional, Union

import ipywidgets as widgets
import traitlets

from ..errors import InfluenceError
from ..integration import BASELINES
from ..mask_reading import unread_mask_message
from ..model import InfluenceModel, load_model
from ..qoi import as_qoi
from ..results import Explanation, WordResult
from ..threads import _parse as _parse_threads
from ..threads import interactive_threads, torch_threads
from .colab import enable_colab_widgets
from .explorer_controls import LEVEL_OPTIONS, STEPS_RANGE, TOP_K_RANGE, build_controls, layout_children
from .export import export_text
from .run_loop import RunOptions, button_runs_in_thread, ui_polling, updates
from .style import PALETTES
from .views import RedrawClock

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
    # importlib: ``ipyinfluence.explain`` the attribute is the function, not the module.
    return tuple(importlib.import_module("ipyinfluence.explain").METHODS)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "explanation"


def _clamp(value: int, bounds: tuple[int, int]) -> int:
    return max(bounds[0], min(bounds[1], int(value)))


class Explorer(widgets.VBox):
    """Interactive influence patterns for one model (see the module doc).

    ``model``: an :class:`InfluenceModel`, anything :func:`load_model` accepts, or None
    for the default model (loaded on the first run, or by :meth:`load`). ``text`` and
    ``qoi`` default to the paper's examples for the model head. ``sources``: compute only
    these positions (ticks "compute only the selected words").
    """

    text = traitlets.Unicode("")
    status = traitlets.Unicode("")
    error = traitlets.Unicode("")
    running = traitlets.Bool(False)
    level = traitlets.Enum(LEVEL_OPTIONS, "attention")
    steps = traitlets.Int(51)
    top_k = traitlets.Int(1)
    baseline = traitlets.Unicode("mask")
    method = traitlets.Unicode("gpr")
    palette = traitlets.Enum(tuple(PALETTES), "paper")
    only_selected = traitlets.Bool(False)
    threads = traitlets.Union([traitlets.Int(), traitlets.Unicode()], default_value="auto")
    words_done = traitlets.Int(0)
    words_total = traitlets.Int(0)
    preview_steps = traitlets.Int(0)  # > 0: progressive mode, a coarse preview of every word first
    explanation = traitlets.Instance(Explanation, allow_none=True)

    def __init__(self, model: Any = None, text: Optional[str] = None, qoi: Any = None, *, steps: int = 51,
                 level: str = "attention", top_k: int = 1, baseline: str = "mask", method: str = "gpr",
                 palette: str = "paper", background: Optional[bool] = None, preview_steps: int = 0,
                 sources: Optional[list[int]] = None, threads: Union[int, str] = "auto",
                 export_dir: Optional[Union[str, Path]] = None, **kwargs):
        enable_colab_widgets()
        self.preview_steps = preview_steps
        self.model: Optional[InfluenceModel] = model if isinstance(model, InfluenceModel) else None
        self._model_source = model
        self._qoi_arg = qoi
        self.background = background
        self.threads = threads
        self.export_dir = Path(export_dir) if export_dir is not None else None
        self.last_traceback = ""
        self._cancel = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._dispatchers = {name: widgets.CallbackDispatcher()
                             for name in ("start", "word", "done", "cancel", "error")}
        self._text_is_default = text is None
        methods = available_methods()
        if method not in methods:
            raise InfluenceError(f"method must be one of {methods}; got {method!r}.")
        if level not in LEVEL_OPTIONS:
            raise InfluenceError(f"level must be one of {LEVEL_OPTIONS}; got {level!r}.")
        build_controls(self, methods, baseline, palette)
        self.views: list = [self.graph, self.bars]
        super().__init__(layout_children(self), **kwargs)
        self.add_class("ipyinfluence-explorer")

        for name, widget in (("text", self.text_box), ("level", self.level_toggle), ("steps", self.steps_box),
                             ("top_k", self.top_k_box), ("baseline", self.baseline_box),
                             ("method", self.method_box), ("palette", self.palette_box),
                             ("only_selected", self.only_selected_box)):
            traitlets.link((self, name), (widget, "value"))
        self.run_button.on_click(self.on_run_click)
        self.cancel_button.on_click(lambda _b: self.cancel())
        for kind, button in self.export_buttons.items():
            button.on_click(lambda _b, k=kind: self._export_clicked(k))
        self.observe(self._on_running, names="running")
        self.observe(self._on_error_trait, names="error")
        self.observe(self._on_status_trait, names="status")
        self.observe(self._on_text, names="text")
        self.observe(self._on_level, names="level")
        self.observe(self._on_palette, names="palette")
        self.chips.observe(self._on_chips, names="selected")
        self.qoi_editor.observe(lambda _c: self._update_text_hint(), names="task")

        self.steps, self.top_k, self.method, self.baseline = steps, top_k, method, baseline
        self.level, self.palette = level, palette
        self.text = text if text is not None else default_text(
            self.model.task if self.model else None, self.model.mask_token if self.model else "[MASK]")
        self._text_is_default = text is None  # the assignment above is ours, not the user's
        if self.model is not None:
            self._show_model()
        if sources is not None:
            self.chips.select(sources)
            self.only_selected = True
        self.status = "Ready: click Run." if self.model is not None else \
            "Ready: click Run (the model loads on the first run)."

    # -- trait validation: a box and its trait never disagree ---------------------------
    @traitlets.validate("steps")
    def _valid_steps(self, proposal) -> int:
        return _clamp(proposal["value"], STEPS_RANGE)

    @traitlets.validate("top_k")
    def _valid_top_k(self, proposal) -> int:
        return _clamp(proposal["value"], TOP_K_RANGE)

    @traitlets.validate("method")
    def _valid_method(self, proposal) -> str:
        options = tuple(self.method_box.options) if hasattr(self, "method_box") else available_methods()
        if proposal["value"] not in options:
            raise traitlets.TraitError(f"method must be one of {options}; got {proposal['value']!r}.")
        return proposal["value"]

    @traitlets.validate("baseline")
    def _valid_baseline(self, proposal) -> str:
        """A named baseline, or any single token of the vocabulary (added to the box)."""
        value = proposal["value"]
        if value not in BASELINES:
            if self.model is not None:
                try:
                    self.model.token_id(value, "baseline token")
                except InfluenceError as e:
                    raise traitlets.TraitError(
                        f"baseline must be one of {BASELINES} or a single token of the vocabulary: {e}") from e
            if hasattr(self, "baseline_box") and value not in self.baseline_box.options:
                self.baseline_box.options = list(self.baseline_box.options) + [value]
        return value

    @traitlets.validate("threads")
    def _valid_threads(self, proposal):
        try:
            n = _parse_threads(proposal["value"], "threads")
        except InfluenceError as e:
            raise traitlets.TraitError(str(e)) from e
        return "auto" if n is None else n

    # -- callbacks ------------------------------------------------------------------
    def on_start(self, callback: Callable[[Explanation], Any], remove: bool = False) -> None:
        """``callback(explanation)`` when a run's stream is ready (its first word is in)."""
        self._dispatchers["start"].register_callback(callback, remove=remove)

    def on_word(self, callback: Callable[[WordResult], Any], remove: bool = False) -> None:
        """``callback(word_result)`` after each word (drawn with the next batched redraw)."""
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
            self.model = load_model(self._model_source)
            self._show_model()
        return self.model

    def _show_model(self) -> None:
        m = self.model
        note = f" — {html.escape(m.note)}" if m.note else ""
        self.model_line.value = (f"<b>Model</b>: {html.escape(m.name)} ({html.escape(m.task)}, {m.num_layers} "
                                 f"layers, {m.num_heads} heads){note}")
        if self.qoi_editor.model is not m:
            self.qoi_editor.set_model(m, self._qoi_arg)
        if self._text_is_default:
            self.text = default_text(m.task, m.mask_token)
            self._text_is_default = True
        self._update_text_hint()

    # -- running ----------------------------------------------------------------------
    def on_run_click(self, _button=None) -> None:
        """The Run button: a worker thread unless ``background=False`` or in Colab."""
        self.run(background=self.background if self.background is not None else button_runs_in_thread())

    def run(self, background: Optional[bool] = None):
        """Compute the patterns for the current text and options.

        Inline (the default for a call) returns the explanation (partial when cancelled,
        the previous one on an error); with ``background=True`` (here or at construction)
        returns the worker thread at once (see :meth:`wait`).
        """
        if self.running:
            self.status = "A run is in progress: wait for it or click Cancel."
            return self._thread if self._thread is not None else self.explanation
        self._cancel.clear()
        self.error = ""
        self.running = True
        threads = interactive_threads(self.threads)  # read here: OpenMP's count is per thread
        if self.background if background is None else background:
            self._thread = threading.Thread(target=self._run_guarded, args=(threads,), name="ipyinfluence-explorer",
                                            daemon=True)
            self._thread.start()
            return self._thread
        self._thread = None
        self._run_guarded(threads)
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

    def _run_guarded(self, threads: int) -> None:
        self._started = False  # the run got past the input checks (its words replace the old)
        try:
            with torch_threads(threads):
                self._run_stream()
        except InfluenceError as e:
            self._fail(str(e))
        except KeyboardInterrupt:
            self._finish("interrupted")
            raise
        except Exception as e:  # noqa: BLE001 - a widget never dies: show it, keep the controls
            self.last_traceback = traceback.format_exc()
            self._fail(f"{type(e).__name__}: {e}")
        finally:
            self.running = False

    def _fail(self, message: str) -> None:
        self._finish("error")
        self.error = message
        self._dispatchers["error"](message)

    def _run_options(self) -> RunOptions:
        sources = None
        if self.only_selected:
            sources = list(self.chips.selected)
            if not sources:
                raise InfluenceError("no word is selected: click some word chips, or untick "
                                     "'compute only the selected words'.")
        return RunOptions(text=self.text, qoi=self.qoi_editor.qoi(), steps=self.steps,
                          preview_steps=self.preview_steps, sources=sources,
                          options=dict(baseline=self.baseline, level=self.level, top_k=self.top_k,
                                       method=self.method))

    def _run_stream(self) -> None:
        model = self.load()
        run = self._run_options()
        self.status = (f"Preview: all words with {run.preview_steps} steps…" if 0 < run.preview_steps < run.steps
                       else "Preparing: one forward and backward pass over the interpolation steps…")
        self._update_text_hint()
        self._shown: Optional[Explanation] = None
        clock = RedrawClock()
        started = time.perf_counter()
        with ui_polling() as poll_ui:
            stream = updates(model, run)
            while not self._cancel.is_set():
                try:
                    update = next(stream)
                except StopIteration:
                    break
                self._add_word(update)
                if clock.due(len(self._shown.words)):
                    self._redraw()
                poll_ui()
            stream.close()
        if self.explanation is None or not self._started:
            return
        if self._cancel.is_set() and len(self.explanation.words) < self.words_total:
            self._finish("cancelled")
            return
        if self._shown is not self.explanation:  # progressive mode drew a copy: the result itself now
            self._show(self.explanation)
        self._finish("done", time.perf_counter() - started)

    def _add_word(self, update) -> None:
        """Record one streamed word in the views; the first word of a stage sets them up."""
        expl, word = update.explanation, update.word
        if not self._started or (update.stage == "final" and self.explanation is not expl):
            preview = self._shown if self._started else None
            self._started = True
            self.explanation = expl
            self.words_done, self.words_total = 0, len(expl.sources)
            self.chips.set_words(expl.tokens, self._chip_positions(expl), keep_selection=True)
            # Progressive: the exact words replace the preview's in a copy holding both.
            shown = expl if preview is None else dataclasses.replace(expl, words=list(preview.words))
            self._show(shown)
            self.progress.start(len(expl.sources))
            if update.stage == "final":
                self._dispatchers["start"](expl)
        if self._shown is not expl:
            self._shown.put_word(word)
        for view in self.views:
            view.add_word(word)
        if update.stage == "final":
            self.chips.mark_done(word)
            self.words_done = len(expl.words)
            self._dispatchers["word"](word)

    def _show(self, explanation: Explanation) -> None:
        self._shown = explanation
        self.graph.selected = self._graph_selection()
        for view in self.views:
            view.set_explanation(explanation)

    def _redraw(self) -> None:
        """Push the pending words: every view once, the progress line once."""
        for view in self.views:
            view.redraw()
        if self.explanation is not None:
            self.progress.update(self.words_done)
            self.status = f"Running: {self.words_done} of {self.words_total} words…"

    def _finish(self, outcome: str, seconds: float = 0.0) -> None:
        """Draw what is pending and say how the run ended (also after an error or Ctrl-C)."""
        if not self._started:
            if outcome == "error":
                self.status = "Error: the earlier results are unchanged."
            elif outcome == "interrupted":
                self.status = "Interrupted before the first word: the earlier results are unchanged."
            return
        expl, done, total = self.explanation, self.words_done, self.words_total
        self.progress.finish(done, outcome)
        self.status = {
            "done": f"Done: {done} words in {seconds:.1f} s. {expl.qoi}: q(x) = {expl.q_input:+.3g}, "
                    f"q(baseline) = {expl.q_baseline:+.3g}.",
            "cancelled": f"Cancelled after {done} of {total} words; the words done stay.",
            "interrupted": f"Interrupted after {done} of {total} words; the words done stay.",
        }.get(outcome, f"Error after {done} of {total} words; the words done stay.")
        for view in self.views:  # after the status: a person sees at once that the run stopped
            view.redraw()
        if outcome in ("done", "cancelled"):
            self._dispatchers[outcome.replace("cancelled", "cancel")](expl)

    # -- which words ----------------------------------------------------------------------
    def _candidates(self):
        """(tokens, every source position) of the current text, or None when it cannot be
        read yet (no model, bad text or QoI: the run says why)."""
        if self.model is None:
            return None
        try:
            encoded = self.model.encode(self.text)
            bound = as_qoi(self.qoi_editor.qoi()).bind(self.model, encoded)
        except Exception:  # noqa: BLE001 - the hint / the run reports bad input
            return None
        return encoded, bound

    def _chip_positions(self, expl: Explanation) -> list[int]:
        """Chips for every word a run could compute (computed or not), so that a restricted
        run can be widened again."""
        readout = expl.readout_position
        everyone = [p for p in range(len(expl.tokens)) if p != readout]
        return everyone if set(expl.sources) <= set(everyone) else list(expl.sources)

    def _graph_selection(self) -> Optional[list[int]]:
        shown = self.chips.selected
        return None if len(shown) == len(self.chips.chips) else list(shown)

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
        if not self.running:
            found = self._candidates()
            if found is not None:
                encoded, bound = found
                everyone = [p for p in range(len(encoded.tokens)) if p != bound.readout_position]
                self.chips.set_words(encoded.tokens, everyone, keep_selection=True)

    def _update_text_hint(self) -> None:
        """The line under the text box: no text, a missing / doubled [MASK], or a [MASK]
        the QoI does not read (and which model head would)."""
        m = self.model
        hint = ""
        if m is not None and m.task == "masked-lm" and self.qoi_editor._position is None:
            mask = m.mask_token or "[MASK]"
            count = self.text.count(mask)
            if count == 0:
                hint = f"The text has no {mask}: the masked-LM QoI reads its prediction there; add one."
            elif count > 1:
                hint = f"The text has {count} {mask} tokens; keep one."
        if not hint and m is not None:
            found = self._candidates()
            if found is not None:
                message = unread_mask_message(m, *found)
                hint = f"Note: {message}" if message else ""
        if not self.text.strip():
            hint = "Type a sentence."
        self.text_hint.value = f"<small style='color:#a05a00'>{html.escape(hint)}</small>" if hint else ""

    def _on_level(self, change) -> None:
        self.graph.level = change["new"]  # the Enum trait has checked it

    def _on_palette(self, change) -> None:
        self.graph.palette = change["new"]

    def _on_chips(self, _change) -> None:
        try:
            self.graph.select_words(self._graph_selection())
        except Exception as e:  # noqa: BLE001 - a widget never dies
            self.error = f"could not redraw: {e}"
