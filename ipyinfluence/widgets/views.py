"""The small protocol every Explorer view follows, so that the Explorer can keep a list
of views (graph, bars, and any new one: a step-through, a coloured sentence) and treat
them alike:

* ``set_explanation(explanation_or_None)``: show this explanation (its words so far);
* ``add_word(word_result)``: one more (or a replaced) word; cheap, draws nothing yet;
* ``redraw()``: push every pending change to the browser in one ``hold_sync``.

During a run the Explorer calls ``add_word`` for every word and ``redraw`` at most every
:data:`REDRAW_INTERVAL_S` (and once at the end): the browser then lays out a few
batches instead of one redraw per word, which dominated the run time at 40 tokens
(issue 10: engine 0.4 s, browser 16.6 s).
"""

from __future__ import annotations

import time
from typing import Optional, Protocol, runtime_checkable

from ..results import Explanation, WordResult

REDRAW_INTERVAL_S = 0.15


@runtime_checkable
class ExplorerView(Protocol):
    def set_explanation(self, explanation: Optional[Explanation]) -> None: ...

    def add_word(self, word: WordResult) -> None: ...

    def redraw(self) -> None: ...


class RedrawClock:
    """``due()`` is True at most once per ``interval`` seconds (the first call: at once)."""

    def __init__(self, interval: float = REDRAW_INTERVAL_S, clock=time.monotonic):
        self.interval, self._clock, self._last = interval, clock, None

    def due(self) -> bool:
        now = self._clock()
        if self._last is None or now - self._last >= self.interval:
            self._last = now
            return True
        return False
