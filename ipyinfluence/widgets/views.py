"""The small protocol every Explorer view follows, so that the Explorer can keep a list
of views (graph, bars, and any new one: a step-through, a coloured sentence) and treat
them alike:

* ``set_explanation(explanation_or_None)``: show this explanation (its words so far);
* ``add_word(word_result)``: one more (or a replaced) word; cheap, draws nothing yet;
* ``redraw()``: push every pending change to the browser in one ``hold_sync``.

During a run the Explorer calls ``add_word`` for every word and ``redraw`` when a
:class:`RedrawClock` says so (and once at the end): the browser then lays out a few
growing batches instead of one redraw per word, which dominated the run time at 40
tokens (issue 10: engine 0.4 s, browser 16.6 s). Until its first redraw a run's views
keep showing the previous result (``set_explanation`` is deferred to then).
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional, Protocol, runtime_checkable

import ipywidgets as widgets

from ..results import Explanation, WordResult

REDRAW_INTERVAL_S = 0.5


@runtime_checkable
class ExplorerView(Protocol):
    def set_explanation(self, explanation: Optional[Explanation]) -> None: ...

    def add_word(self, word: WordResult) -> None: ...

    def redraw(self) -> None: ...


class PickingView:
    """What a view that picks a word shares (:class:`~.coloured_sentence.ColouredSentence`,
    :class:`~.step_through.StepThrough`): one lock around its drawing (a run in a worker
    thread and a click in the kernel may meet), ``add_word`` that only records, ``redraw``
    under the lock, and ``on_select`` callbacks. Subclasses call :meth:`_init_view` first
    and implement ``_redraw``."""

    explanation: Optional[Explanation]

    def _init_view(self) -> None:
        self.explanation = None
        self._lock = threading.RLock()
        self._select = widgets.CallbackDispatcher()

    def add_word(self, word: WordResult) -> None:
        if self.explanation is None:
            raise ValueError(f"call set_explanation(explanation) before add_word: the {type(self).__name__} "
                             "needs the tokens.")
        self.explanation.put_word(word)

    def redraw(self) -> None:
        with self._lock:
            self._redraw()

    def on_select(self, callback: Callable[[int], object], remove: bool = False) -> None:
        """``callback(position)`` when a word is picked in this view."""
        self._select.register_callback(callback, remove=remove)

    def _redraw(self) -> None:
        raise NotImplementedError


class RedrawClock:
    """When to push the pending words to the browser: nothing for the first ``first_wait``
    seconds (default: one ``interval``), so a run shorter than that is drawn once, by the
    Explorer's final redraw; then when at least ``interval`` seconds have passed *and* the
    words have grown by ``growth`` times since the last push, or after ``max_wait`` seconds
    whatever the count (a slow model still shows new words). Each push makes the browser
    re-lay the whole graph while, on a small machine, the kernel is computing beside it,
    so few, growing batches keep the browser's work near that of one full drawing.

    Measured in JupyterLab on the tiny model, browser time (Run click → last word drawn)
    over engine time: a push per word 6.3-8.5× and first-and-last push only 3.2-3.8× (36
    tokens); then fixed line marks, a skipped collapsed step-through and one message per
    chip 2.8-3.1×. At 40 tokens (``benchmarks/explorer_browser.py``, 3 rounds each side in
    one session): 2.32-2.73× before and 1.47-1.80× after the coloured sentence became one
    widget (a first run sends 78 widget messages, was ~330), this first wait, chips sent at
    redraws, every graph mark built when the graph is shown, and no 50 ms load sample per
    Run (:func:`ipyinfluence.threads.busy_cores`)."""

    def __init__(self, interval: Optional[float] = None, clock=time.monotonic, *, growth: float = 2.0,
                 max_wait: float = 2.0, first_wait: Optional[float] = None):
        self.interval = REDRAW_INTERVAL_S if interval is None else interval
        self.growth, self.max_wait = growth, max_wait
        self.first_wait = self.interval if first_wait is None else first_wait
        self._clock, self._drawn = clock, 0
        self._start, self._last = clock(), None

    def due(self, words: int = 0) -> bool:
        """Whether to redraw now that ``words`` words are in (and note it when so)."""
        now = self._clock()
        if self._last is None:
            if now - self._start < self.first_wait:
                return False
        else:
            waited = now - self._last
            if waited < self.max_wait and (waited < self.interval or words < self.growth * self._drawn):
                return False
        self._last, self._drawn = now, words
        return True
