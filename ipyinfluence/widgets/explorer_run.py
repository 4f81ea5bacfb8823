"""How an :class:`~.explorer.Explorer` runs: Run / Cancel, the batched redraws, how a
run ends (done, cancelled, error, Ctrl-C). Why a worker thread for the Run button, with
the measurements: :mod:`.run_loop`."""

from __future__ import annotations

import dataclasses
import threading
import traceback
from typing import Optional

from ..errors import Cancelled, InfluenceError
from ..results import Explanation
from ..threads import interactive_threads, note_cpu_use, torch_threads
from .run_loop import RunOptions, button_runs_in_thread, ui_polling, updates, with_totals
from .views import RedrawClock


class RunningMixin:
    """The running half of the Explorer (its traits and widgets are in :mod:`.explorer`)."""

    def on_run_click(self, _button=None) -> None:
        """The Run button: a worker thread unless ``background=False`` or in Colab."""
        self.run(background=self.background if self.background is not None else button_runs_in_thread())

    def run(self, background: Optional[bool] = None):
        """Compute the patterns for the current text and options.

        Inline (the default for a call) returns the explanation (partial when cancelled,
        the previous one on an error); with ``background=True`` (here or at construction)
        returns the worker thread at once (see :meth:`wait`).
        """
        with self._ui_lock:
            if self.running:
                self.status = "A run is in progress: wait for it or click Cancel."
                return self._thread if self._thread is not None else self.explanation
            self._cancel.clear()
            self.error = ""
            self.running = True
            self._reset_run_fields()  # here, not in the worker: a Cancel may come before it starts
            state = self._run_state = _RunState(previous=self._thread)
        threads = interactive_threads(self.threads)  # read here: OpenMP's count is per thread
        if self.background if background is None else background:
            self._thread = threading.Thread(target=self._run_guarded, args=(threads, state),
                                            name="ipyinfluence-explorer", daemon=True)
            self._thread.start()
            return self._thread
        self._thread = None
        self._run_guarded(threads, state)
        return self.explanation

    def wait(self, timeout: Optional[float] = None) -> Optional[Explanation]:
        """Block until a background run ends; returns the explanation."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.explanation

    def cancel(self) -> None:
        """End the run now: the words done stay, shown as they are; the word being computed
        is dropped (the worker stops when it completes and changes nothing more).

        Ending the run here, in the click's handler, rather than after the worker's current
        word is what keeps Cancel within 0.5 s when words are slow: a loaded machine made
        one word ~1 s, and Cancel in Notebook 7 took 1.03 s (issue 10.1)."""
        with self._ui_lock:
            state = self._run_state
            if not self.running or state is None or state.over:
                self.status = "Nothing to cancel: no run in progress."
                return
            self._cancel.set()
            if not self._started:  # still preparing: the shared pass stops at its next slice or layer
                self.status = "Cancelling: the run stops before its first word…"
                return
            state.over = True
            expl = self.explanation
            kept = dataclasses.replace(expl, words=list(expl.words[:self._stage_words]))
            self.explanation = kept  # the worker's stream may still append its current word to its own
            self._show(kept if self._shown is expl else self._shown)
            self._finish("cancelled")
            self.running = False
        self._flush_events()

    def _run_guarded(self, threads: int, state: "_RunState") -> None:
        if state.previous is not None:  # a cancelled run's worker may still finish its word: not two at once
            state.previous.join()
        try:
            with torch_threads(threads):
                self._run_stream(state)
        except InfluenceError as e:
            self._fail(str(e), state)
        except KeyboardInterrupt:
            with self._ui_lock:
                if not state.over:
                    state.over = True
                    self._finish("interrupted")
            self._flush_events()
            raise
        except Exception as e:  # noqa: BLE001 - a widget never dies: show it, keep the controls
            self.last_traceback = traceback.format_exc()
            self._fail(f"{type(e).__name__}: {e}", state)
        finally:
            note_cpu_use()  # the next run's load reading starts here (not counting this run)
            with self._ui_lock:
                state.over = True
                if self._run_state is state:
                    self.running = False

    def _reset_run_fields(self) -> None:
        """A run's own state, empty (at construction and when a run starts)."""
        self._started = False  # the run got past the input checks (its words replace the old)
        self._shown: Optional[Explanation] = None  # what the views draw (progressive: a copy)
        self._show_pending = False  # _shown not yet given to the views
        self._stage_words = 0  # words of the current stage that went through _add_word
        self._done_words: dict = {}  # exact words by position, for the chips
        self._totals: Optional[Explanation] = None  # every word's g_i from the shared pass (stand-ins)
        self._start_sent = False  # on_start told (at the first exact word)

    def _fail(self, message: str, state: "_RunState") -> None:
        with self._ui_lock:
            if state.over:  # cancelled meanwhile: the run has ended already
                return
            state.over = True
            self._finish("error")
            self.error = message
            self._emit("error", message)
        self._flush_events()

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
                                       method=self.method, quadrature=self.quadrature))

    def _run_stream(self, state: "_RunState") -> None:
        model = self.load()
        run = self._run_options()
        self.status = (f"Preview: all words with {run.preview_steps} steps…" if 0 < run.preview_steps < run.steps
                       else "Preparing: one forward and backward pass over the interpolation steps…")
        self._update_text_hint()
        clock = RedrawClock()
        self.progress.begin()  # the run's one clock: the bar and the status line read it
        with ui_polling() as poll_ui:
            stream = updates(model, run, should_stop=self._cancel.is_set)  # Cancel also stops the shared pass
            while not self._cancel.is_set():
                try:
                    update = next(stream)  # the engine's work: outside the lock, so Cancel is handled at once
                except (StopIteration, Cancelled):
                    break
                with self._ui_lock:
                    if state.over or (self._cancel.is_set() and not self._started):
                        break  # cancelled while this word was computed (or before any): it is dropped
                    if update.stage == "totals":
                        self._show_totals(update)
                    else:
                        self._add_word(update)
                        if clock.due(len(self._shown.words)):
                            self._redraw()
                self._flush_events()  # the user's callbacks run outside the lock: they cannot hold up Cancel
                poll_ui()
            stream.close()
        with self._ui_lock:
            if not state.over:
                state.over = True
                self._end_stream(self.progress.elapsed())
        self._flush_events()

    def _end_stream(self, seconds: float) -> None:
        """How a run that was not cancelled from the handler ends (under the lock)."""
        if self.explanation is None or not self._started:
            if self._cancel.is_set():
                self.status = "Cancelled before the first word: the earlier results are unchanged."
            return
        if self._cancel.is_set() and len(self.explanation.words) < self.words_total:
            self._finish("cancelled")
            return
        if self._shown is not self.explanation:  # progressive mode drew a copy: the result itself now
            self._show(self.explanation)
        if self._totals is not None:  # every g_i stand-in is replaced: the same words, as the result itself
            self._totals = None
            if not self._show_pending:
                self.sentence.explanation = self.bars.explanation = self._shown
        self._finish("done", seconds)

    def _emit(self, event: str, value) -> None:
        """Queue a callback event (``on_word``, ``on_done``...): sent by :meth:`_flush_events`
        once the lock is released."""
        self._events.append((event, value))

    def _flush_events(self) -> None:
        while True:
            try:
                event, value = self._events.popleft()
            except IndexError:
                return
            self._dispatchers[event](value)

    def _show_totals(self, update) -> None:
        """The shared pass is done: draw every word's ``g_i`` now, in the coloured sentence and
        the bars, before any pattern (issue 19.5); the graph and the step-through keep the
        earlier result until the first redraw of words (issue 10.8). From here the run has
        started: its explanation replaces the earlier one and a Cancel ends it in the
        click's handler."""
        expl = update.explanation
        self._totals = update.totals
        self._started = True
        self.explanation = expl
        self.words_done, self.words_total = 0, len(expl.sources)
        self.status = (f"Preparing: gᵢ of every word shown from a {expl.steps}-point preview; the exact pass "
                       "follows…" if update.preview else
                       f"Running: 0 of {len(expl.sources)} words… (gᵢ of every word shown; patterns follow)")
        self.chips.set_words(expl.tokens, self._chip_positions(expl), keep_selection=True)
        self._show(expl)  # the other views draw it at the next redraw
        for view in (self.sentence, self.bars):
            view.set_explanation(with_totals(expl, self._totals))
        self.progress.start(len(expl.sources))

    def _add_word(self, update) -> None:
        """Record one streamed word in the views; the first word of a stage sets them up."""
        expl, word = update.explanation, update.word
        if not self._started or (update.stage == "final" and self.explanation is not expl):
            preview = self._shown if self._started else None
            self._started = True
            self.explanation = expl
            self.words_done, self.words_total = 0, len(expl.sources)
            with self._moving_chips():
                self.chips.set_words(expl.tokens, self._chip_positions(expl), keep_selection=True,
                                     selected=self._wanted_chips(expl))
            # Progressive: the exact words replace the preview's in a copy holding both.
            shown = expl if preview is None else dataclasses.replace(expl, words=list(preview.words))
            self._show(shown)
            if preview is not None:  # the whole preview is what progressive mode promises first: draw it now
                self._draw_views()
            self.progress.start(len(expl.sources))
        if update.stage == "final" and not self._start_sent:
            self._start_sent = True
            self._emit("start", expl)
        self._stage_words = len(expl.words)  # the stream appended this word: these many went through here
        if self._shown is not expl:
            self._shown.put_word(word)
        if not self._show_pending:  # else the views still hold the earlier result: the word is in _shown
            for view in self.views:
                view.add_word(word)
        if update.stage == "final":
            self._done_words[word.position] = word  # the chips show them at the next redraw
            self.words_done = len(expl.words)
            self._emit("word", word)

    def _show(self, explanation: Explanation) -> None:
        """Make ``explanation`` the one the views draw, at the next redraw: until then they
        keep showing the earlier result, so a run shorter than the clock's first wait costs
        the browser one drawing, not a clearing and then a drawing while the kernel computes
        (issue 10.8)."""
        self._shown = explanation
        self._show_pending = True

    def _redraw(self) -> None:
        """Push the pending words: every view once, the progress line once."""
        self._draw_views()
        if self.explanation is not None:
            self.progress.update(self.words_done)
            self.status = f"Running: {self.words_done} of {self.words_total} words…"

    def _draw_views(self) -> None:
        self.chips.show_done(self._done_words)
        self._pick_words(self._shown)  # the picked word (by default the largest |g_i| so far)
        if self._show_pending:
            self._show_pending = False
            self.graph.selected = self._graph_selection()
            for view in self.views:
                # the sentence and the bars also draw the g_i of the words still computing
                shown = with_totals(self._shown, self._totals) if view is self.sentence or view is self.bars \
                    else self._shown
                view.set_explanation(shown)  # draws the words so far
        else:
            selection = self._graph_selection()
            for view in self.views:
                if view is self.graph and view.selected != selection:
                    view.selected = selection  # redraws it
                else:
                    view.redraw()

    def _finish(self, outcome: str, seconds: float = 0.0) -> None:
        """Draw what is pending and say how the run ended (also after an error or Ctrl-C)."""
        if not self._started:
            if outcome == "error":
                self.status = "Error: the earlier results are unchanged."
            elif outcome == "interrupted":
                self.status = "Interrupted before the first word: the earlier results are unchanged."
            return
        expl, done, total = self.explanation, self.words_done, self.words_total
        self.progress.finish(done, outcome, seconds if outcome == "done" else None)
        self.chips.show_done(self._done_words)  # the chips agree with the status the moment it changes
        self.status = {
            "done": f"Done: {done} words in {seconds:.1f} s. {expl.qoi}: q(x) = {expl.q_input:+.3g}, "
                    f"q(baseline) = {expl.q_baseline:+.3g}.",
            "cancelled": f"Cancelled after {done} of {total} words; the words done stay.",
            "interrupted": f"Interrupted after {done} of {total} words; the words done stay.",
        }.get(outcome, f"Error after {done} of {total} words; the words done stay.")
        self._draw_views()  # after the status: a person sees at once that the run stopped
        if outcome in ("done", "cancelled"):
            self._emit(outcome.replace("cancelled", "cancel"), expl)


class _RunState:
    """One run: ``over`` once it has ended (done, cancelled, failed), after which its worker
    changes nothing; ``previous`` is the worker thread of the run before, which may still
    be finishing a word after a Cancel."""

    def __init__(self, previous: Optional[threading.Thread] = None):
        self.over = False
        self.previous = previous
