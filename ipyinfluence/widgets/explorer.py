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
a worker thread (inline in Colab), so **Cancel** ends the run at the click, keeping the
words done (the word being computed is dropped). :meth:`run` called in a cell runs inline and returns the
explanation (it handles Cancel clicks between words only on ipykernel < 7 with
``jupyter-ui-poll``). ``background=True`` / ``False`` forces one way for both. Views
redraw in growing batches (:class:`~.views.RedrawClock`), not per word; a run shorter
than half a second is drawn once, at its end.
``preview_steps > 0`` switches on **progressive mode**: every word from a coarse run
first, each replaced by its exact result as it arrives
(:func:`ipyinfluence.progressive.iter_progressive`). ``threads`` sets the torch threads
of a run (default "auto", see :mod:`ipyinfluence.threads`).

A widget never dies: bad input, a model error (``InfluenceError`` or any exception), a
Cancel or a Ctrl-C shows a message and leaves the earlier results and every control
usable. State is in traitlets (``text``, ``status``, ``error``, ``running``, ``level``,
``steps``, ``top_k``, ``baseline``, ``method``, ``palette``, ``only_selected``,
``words_done``, ``words_total``, ``explanation``); a choice trait and its box always
agree (a bad value raises ``TraitError`` and changes neither; ``steps``/``top_k`` are
clamped to the boxes' ranges). Callbacks: ``on_start``, ``on_word``, ``on_done``,
``on_cancel``, ``on_error`` (in a worker-thread run they run in the worker, outside the
run's lock so a slow callback cannot hold up Cancel; ``on_cancel`` after a Cancel click
runs in the click's handler).

**What is drawn** (a 40-token sentence at ``top_k=3`` drawn whole is a solid mass of
lines, issue 19.2): by default the graph draws the *picked* word: the word with the largest
``|g_i|`` once a run has words, or the one a person clicks in the coloured sentence (or
the chips they pick); "show all" (``show_all=True``, or the chips' "show all" button) is
the explicit choice of every word. The graph is fitted to the page (every column in
:data:`~.pattern_graph.FIT_PX` px; token texts that would touch give way, never the picked
word's, the QoI's or the pattern's columns), so the picked word's whole pattern and the
QoI's column are on screen without scrolling, on a 1280×720 projector too.
``presentation=True`` draws larger type for the back of a room.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import re
import threading
from pathlib import Path
from typing import Any, Callable, Optional, Union

import ipywidgets as widgets
import traitlets

from .. import explanation_stream
from ..errors import InfluenceError
from ..integration import INPUT_BASELINES
from ..quadrature import QUADRATURES
from ..model import InfluenceModel, load_model
from ..results import Explanation, WordResult
from ..threads import _parse as _parse_threads, note_cpu_use
from .colab import enable_colab_widgets
from .decoder_controls import IOI_TEXT, fit_model as fit_decoder_controls
from .decoder_marks import layout_explanation
from .escape import esc
from .explorer_controls import (DEFAULT_QUADRATURE, DEFAULT_STEPS, LEVEL_OPTIONS, STEPS_RANGE, TOP_K_RANGE,
                                build_controls, layout_children)
from .explorer_run import RunningMixin
from .export import export_text
from .style import PALETTES
from .text_hint import read_text, text_hint

MASKED_LM_TEXT = "the author that the guards like [MASK] happy ."
SENTIMENT_TEXT = "the movie was not good ."
EXPORT_MIME = {"svg": "image/svg+xml", "html": "text/html", "json": "application/json"}


def default_text(task: Optional[str], mask_token: Optional[str] = "[MASK]") -> str:
    """The sentence a new Explorer starts with for a model head (paper examples)."""
    if task == "causal-lm":
        return IOI_TEXT
    if task in (None, "masked-lm"):
        return MASKED_LM_TEXT.replace("[MASK]", mask_token or "[MASK]")
    return SENTIMENT_TEXT


def available_methods() -> tuple[str, ...]:
    """Pattern methods the engine offers now (read at construction: more may be added)."""
    return tuple(explanation_stream.METHODS)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "explanation"


def _clamp(value: int, bounds: tuple[int, int]) -> int:
    return max(bounds[0], min(bounds[1], int(value)))


class Explorer(RunningMixin, widgets.VBox):
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
    steps = traitlets.Int(DEFAULT_STEPS)
    quadrature = traitlets.Enum(QUADRATURES, DEFAULT_QUADRATURE)
    top_k = traitlets.Int(1)
    baseline = traitlets.Unicode("mask")
    method = traitlets.Unicode("gpr")
    palette = traitlets.Enum(tuple(PALETTES), "paper")
    only_selected = traitlets.Bool(False)
    threads = traitlets.Union([traitlets.Int(), traitlets.Unicode()], default_value="auto")
    words_done = traitlets.Int(0)
    words_total = traitlets.Int(0)
    preview_steps = traitlets.Int(0)  # > 0: progressive mode, a coarse preview of every word first
    show_all = traitlets.Bool(False)  # False: the graph draws the picked word(s) only (see the module doc)
    explanation = traitlets.Instance(Explanation, allow_none=True)

    def __init__(self, model: Any = None, text: Optional[str] = None, qoi: Any = None, *, steps: int = DEFAULT_STEPS,
                 quadrature: str = DEFAULT_QUADRATURE,
                 level: str = "attention", top_k: int = 1, baseline: str = "mask", method: str = "gpr",
                 palette: str = "paper", background: Optional[bool] = None, preview_steps: int = 0,
                 sources: Optional[list[int]] = None, threads: Union[int, str] = "auto",
                 export_dir: Optional[Union[str, Path]] = None, show_all: bool = False, presentation: bool = False,
                 **kwargs):
        enable_colab_widgets()
        note_cpu_use()  # the first Run then reads the machine's load without waiting
        self.preview_steps = preview_steps
        self.presentation = bool(presentation)
        self.show_all = show_all
        self._picked: Optional[list[int]] = None  # the words a person picked (None: the largest |g_i|)
        self._chips_quiet = False  # the Explorer itself is moving the chips: not a person's pick
        self.model: Optional[InfluenceModel] = model if isinstance(model, InfluenceModel) else None
        self._model_source = model
        self._qoi_arg = qoi
        self.background = background
        self.threads = threads
        self.export_dir = Path(export_dir) if export_dir is not None else None
        self.last_traceback = ""
        self._cancel = threading.Event()
        self._ui_lock = threading.RLock()  # a worker's word and a Cancel click change the views one at a time
        self._run_state = None
        self._reset_run_fields()
        self._events: collections.deque = collections.deque()  # callback events waiting for the lock's release
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
        self.views: list = [self.sentence, self.graph, self.bars, self.step_through]
        super().__init__(layout_children(self), **kwargs)
        self.add_class("ipyinfluence-explorer")
        if self.presentation:
            self.add_class("ipyinfluence-presentation")

        for name, widget in (("text", self.text_box), ("level", self.level_toggle), ("steps", self.steps_box),
                             ("quadrature", self.quadrature_box),
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
        self.observe(self._on_show_all, names="show_all")
        traitlets.dlink((self.graph, "selected"), (self.bars, "selected"))  # the ranked list marks the drawn words
        self.sentence.observe(self._step_through_follows, names="selected")
        self.sentence.on_select(self._on_word_picked)
        self.step_through.on_select(self._on_word_picked)
        self.qoi_editor.observe(lambda _c: self._update_text_hint(), names="task")

        self.steps, self.top_k, self.method, self.baseline = steps, top_k, method, baseline
        self.level, self.palette, self.quadrature = level, palette, quadrature
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
        if value not in INPUT_BASELINES:
            if self.model is not None and not self.model.causal:  # a decoder's field checks its own
                try:
                    self.model.token_id(value, "baseline token")
                except InfluenceError as e:
                    raise traitlets.TraitError(
                        f"baseline must be one of {INPUT_BASELINES} or a single token of the vocabulary: {e}") from e
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
        note = f" — {esc(m.note)}" if m.note else ""
        self.model_line.value = (f"<b>Model</b>: {esc(m.name)} ({esc(m.task)}, {m.num_layers} "
                                 f"layers, {m.num_heads} heads){note}")
        fit_decoder_controls(self, m)
        if self.qoi_editor.model is not m:
            self.qoi_editor.set_model(m, self._qoi_arg)
        if self._text_is_default:
            self.text = default_text(m.task, m.mask_token)
            self._text_is_default = True
        self._update_text_hint()

    # -- which words ----------------------------------------------------------------------
    def _candidates(self):
        return read_text(self.model, self.text, self.qoi_editor)

    def _chip_positions(self, expl: Explanation) -> list[int]:
        """Chips for every word a run could compute (computed or not), so that a restricted
        run can be widened again."""
        readout = expl.readout_position
        everyone = [p for p in range(len(expl.tokens)) if p != readout]
        return everyone if set(expl.sources) <= set(everyone) else list(expl.sources)

    def _graph_selection(self) -> Optional[list[int]]:
        shown = self.chips.selected
        return None if len(shown) == len(self.chips.chips) else list(shown)

    @contextlib.contextmanager
    def _moving_chips(self):
        """The Explorer itself sets the chips inside: not a person's pick."""
        self._chips_quiet = True
        try:
            yield
        finally:
            self._chips_quiet = False

    def _wanted_chips(self, expl: Optional[Explanation]) -> Optional[list[int]]:
        """The chips to select for ``expl`` (None: all; see :meth:`_pick_words`). Before
        any word, none: chips made unselected need no message when the pick arrives."""
        if self.show_all:
            return None
        done = {w.position for w in expl.words} if expl is not None else set()
        if not done:
            return list(self._picked or [])
        if self._picked is not None and (set(self._picked) & done or not self._picked):
            return [p for p in self._picked if p in self.chips.chips or p in expl.sources]
        current = self.chips.selected
        if len(current) == 1 and current[0] in done and not expl.complete:
            return current  # mid-run the automatic pick stays put (each move is messages); it settles at the end
        return [max(expl.words, key=lambda w: abs(w.total_influence)).position]

    def _pick_words(self, expl: Optional[Explanation]) -> None:
        """The chips (and so the graph) follow what is to be drawn: every word with
        ``show_all``, else the words a person picked, else the word with the largest
        ``|g_i|`` so far. Moved quietly: this is not a person's pick."""
        if expl is None or not expl.words:
            return
        done = {w.position for w in expl.words}
        want = self._wanted_chips(expl)
        current = self.chips.selected
        if want is None and len(current) == len(self.chips.chips) or want == current:
            return
        with self._moving_chips():
            self.chips.select(want)
        if want is not None and len(want) == 1 and want[0] in done:
            self.sentence.selected = want[0]

    # -- export ---------------------------------------------------------------------------
    def export(self, kind: str, path: Optional[Union[str, Path]] = None) -> str:
        """The current explanation as "svg", "html" or "json" text (as drawn: the shown
        words, level and palette for SVG/HTML); also written to ``path`` when given."""
        if self.explanation is None:
            raise InfluenceError("nothing to export yet: click Run first.")
        kwargs = {} if kind == "json" else dict(words=self.graph.selected, level=self.level, palette=self.palette)
        drawn = self.explanation if kind == "json" else layout_explanation(self.graph, self.explanation)
        text = export_text(drawn, kind, **kwargs)  # a decoder's QoI above its last column, as in the graph
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
            link = (f"<a download='{esc(name)}' href='data:{EXPORT_MIME[kind]};base64,{data}' "
                    f"class='ipyinfluence-download'>download {esc(name)}</a>")
            saved = f" · written to <code>{esc(str(path.resolve()))}</code>" if path is not None else ""
            self.export_line.value = link + saved
        except Exception as e:  # noqa: BLE001 - a widget never dies
            self.export_line.value = f"<span style='color:#b00020'>{esc(str(e))}</span>"

    # -- trait reactions ---------------------------------------------------------------
    def _on_running(self, change) -> None:
        running = change["new"]
        self.run_button.disabled = running
        self.cancel_button.disabled = not running

    def _on_error_trait(self, change) -> None:
        msg = change["new"]
        self.error_line.value = f"<span style='color:#b00020'>⚠ {esc(msg)}</span>" if msg else ""

    def _on_status_trait(self, change) -> None:
        self.status_line.value = esc(change["new"])

    def _on_text(self, _change) -> None:
        self._text_is_default = False
        self._update_text_hint()
        if not self.running:
            found = self._candidates()
            if found is not None:
                encoded, bound = found
                everyone = [p for p in range(len(encoded.tokens)) if p != bound.readout_position]
                with self._moving_chips():
                    self.chips.set_words(encoded.tokens, everyone, keep_selection=True,
                                         selected=self._wanted_chips(None))

    def _update_text_hint(self) -> None:
        hint = text_hint(self.model, self.text, self.qoi_editor)
        self.text_hint.value = f"<small style='color:#a05a00'>{esc(hint)}</small>" if hint else ""

    def _on_level(self, change) -> None:
        self.graph.level = self.step_through.level = change["new"]  # the Enum trait has checked it

    def _on_palette(self, change) -> None:
        self.graph.palette = self.sentence.palette = self.step_through.palette = change["new"]

    def _on_word_picked(self, position) -> None:
        """A word clicked in the coloured sentence or picked in the step-through: show its pattern."""
        try:
            self._picked = [int(position)]
            self.show_all = False
            self.chips.select([position])
            self.sentence.selected = position
            if self.step_through.position != position:
                self.step_through.show_word(position)
        except Exception as e:  # noqa: BLE001 - a widget never dies
            self.error = f"could not show that word: {e}"

    def _on_show_all(self, change) -> None:
        """Every word, or back to the picked word(s)."""
        if change["new"]:
            self._picked = None
        self._pick_words(self.explanation)
        self.graph.select_words(self._graph_selection())

    def _step_through_follows(self, change) -> None:
        """The step-through shows the picked word (it picked its own largest |g_i| among the
        words of its first drawing, which the Explorer's pick may move past at the run's end)."""
        st, p = self.step_through, change["new"]
        if p is not None and st.position != p and st.explanation is not None and \
                any(w.position == p for w in st.explanation.words):
            st.show_word(p)

    def _on_chips(self, change) -> None:
        if self._chips_quiet:
            return  # the Explorer's own move: the graph is told by the redraw that made it
        everyone = len(change["new"]) == len(self.chips.chips) and bool(self.chips.chips)
        self._picked = None if everyone else list(change["new"])
        if everyone != self.show_all and (everyone or self.show_all):
            self.show_all = everyone  # "show all" is a choice; unpicking a word from it is another
        try:
            self.graph.select_words(self._graph_selection())
        except Exception as e:  # noqa: BLE001 - a widget never dies
            self.error = f"could not redraw: {e}"
