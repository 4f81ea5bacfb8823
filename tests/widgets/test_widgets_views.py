"""The view protocol and the redraw clock that batches the Explorer's pushes."""

from __future__ import annotations

from ipyinfluence.widgets import InfluenceBars, PatternGraph
from ipyinfluence.widgets.views import ExplorerView, RedrawClock


class FakeTime:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_graph_and_bars_follow_the_view_protocol():
    assert isinstance(PatternGraph(), ExplorerView) and isinstance(InfluenceBars(), ExplorerView)


def test_redraw_clock_pushes_growing_batches_and_never_waits_past_max_wait():
    t = FakeTime()
    clock = RedrawClock(interval=0.25, clock=t, growth=2.0, max_wait=1.0, first_wait=0)
    assert clock.due(1)  # the first word at once
    t.now = 0.1
    assert not clock.due(5)  # too soon
    t.now = 0.3
    assert clock.due(2)  # 2 >= 2 × 1 and 0.3 s later
    t.now = 0.6
    assert not clock.due(3)  # late enough, but 3 words are not twice 2
    assert clock.due(4)
    t.now = 1.0
    assert not clock.due(5)
    t.now = 1.61  # a slow model: a push at least every max_wait seconds
    assert clock.due(5)


def test_redraw_clock_counts_from_the_last_push():
    t = FakeTime()
    clock = RedrawClock(interval=0.25, clock=t, growth=1.0, max_wait=10, first_wait=0)
    pushes = []
    for step in range(40):  # a word every 0.05 s for 2 s
        t.now = step * 0.05
        if clock.due(step + 1):
            pushes.append(step + 1)
    assert pushes[0] == 1 and len(pushes) == 8  # every 0.25 s: far fewer pushes than words


def test_redraw_clock_waits_before_the_first_push():
    """By default nothing is pushed for the first ``interval`` seconds: a short run is drawn
    once, at its end (the Explorer's final redraw), a long one shows words from then on."""
    t = FakeTime()
    clock = RedrawClock(interval=0.5, clock=t, growth=2.0, max_wait=2.0)
    assert clock.first_wait == 0.5
    t.now = 0.2
    assert not clock.due(10)
    t.now = 0.49
    assert not clock.due(30)
    t.now = 0.5
    assert clock.due(31)  # then as before: growing batches
    t.now = 1.1
    assert not clock.due(40) and clock.due(62)
