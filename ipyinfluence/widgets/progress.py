"""``RunProgress``: a progress bar with words done and an estimate of the time left.

One clock per run: :meth:`RunProgress.begin` at the Run click starts it, and the bar's
times and the Explorer's "Done: … in N s" both read :meth:`RunProgress.elapsed` (the bar
once started at the first word and the status at the click: 44.6 s against 47.6 s for one
run, issue 19.10)."""

from __future__ import annotations

import time

import ipywidgets as widgets


def time_left(elapsed: float, done: int, total: int) -> float | None:
    """Seconds left if the remaining words take as long as the done ones (None before the first)."""
    if done <= 0 or total <= done:
        return None if done <= 0 else 0.0
    return elapsed / done * (total - done)


def _seconds(s: float) -> str:
    return f"{s:.1f} s" if s < 60 else f"{int(s // 60)} min {int(s % 60)} s"


class RunProgress(widgets.HBox):
    def __init__(self, **kwargs):
        self.bar = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="220px"))
        self.label = widgets.Label("")
        super().__init__([self.bar, self.label], **kwargs)
        self.add_class("ipyinfluence-progress")
        self._started = time.perf_counter()
        self.total = 0

    def begin(self) -> None:
        """A run starts now (its clock; the words are counted from :meth:`start`)."""
        self._started = time.perf_counter()

    def elapsed(self) -> float:
        """Seconds since :meth:`begin`: the one duration a run reports."""
        return time.perf_counter() - self._started

    def start(self, total: int) -> None:
        """The run's words are known (a progressive run's exact stage starts again at 0)."""
        self.total = total
        with self.bar.hold_sync():
            self.bar.max = max(1, total)
            self.bar.value = 0
            self.bar.bar_style = "info"
        self.label.value = f"0/{total} words"

    def update(self, done: int) -> None:
        elapsed = self.elapsed()
        left = time_left(elapsed, done, self.total)
        self.bar.value = min(done, self.bar.max)
        tail = "" if left is None else f", ~{_seconds(left)} left"
        self.label.value = f"{done}/{self.total} words · {_seconds(elapsed)}{tail}"

    def finish(self, done: int, outcome: str, seconds: float | None = None) -> None:
        """``outcome``: "done", "cancelled" or "error"; ``seconds``: the run's time as the
        status line reports it (read once from :meth:`elapsed`, so both say one number)."""
        elapsed = self.elapsed() if seconds is None else seconds
        self.bar.value = min(done, self.bar.max)
        self.bar.bar_style = {"done": "success", "cancelled": "warning"}.get(outcome, "danger")
        self.label.value = f"{done}/{self.total} words · {_seconds(elapsed)} · {outcome}"
