"""How an :class:`~.explorer.Explorer` runs: Run / Cancel, the batched redraws, how a
run ends (done, cancelled, error, Ctrl-C). Why a worker thread for the Run button, with
the measurements: :mod:`.run_loop`."""

from __future__ import annotations

import dataclasses
import threading
import time
import traceback
from typing import Optional

from ..errors import InfluenceError
from ..results import Explanation
from ..threads import interactive_threads, torch_threads
from .run_loop import RunOptions, button_runs_in_thread, ui_polling, updates
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
                                       method=self.method, quadrature=self.quadrature))

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
