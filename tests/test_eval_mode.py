"""Issue 16.10: the eval-mode switch around the HF head is shared safely by concurrent runs."""

from __future__ import annotations

import threading

from torch import nn

from ipyinfluence.model import in_eval_mode


def test_overlapping_heads_both_run_in_eval_mode_and_the_callers_mode_is_restored():
    """A enters, then B; A leaves while B's head still runs: B must still see eval mode
    (the per-call switch restored train mode under it, so its dropout fired)."""
    module = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    module.train()
    b_inside, a_done = threading.Event(), threading.Event()
    seen = {}

    def head_a(h):
        seen["a"] = any(m.training for m in module.modules())
        assert b_inside.wait(10)
        return h

    def head_b(h):
        b_inside.set()
        assert a_done.wait(10)
        seen["b"] = any(m.training for m in module.modules())
        return h

    def run_a():
        in_eval_mode(head_a, module)(1)
        a_done.set()

    a = threading.Thread(target=run_a)
    a.start()
    while "a" not in seen:  # A is inside its head, in eval mode
        a.join(0.01)
    b = threading.Thread(target=lambda: in_eval_mode(head_b, module)(1))
    b.start()
    a.join(10)
    b.join(10)
    assert seen == {"a": False, "b": False}
    assert all(m.training for m in module.modules())


def test_a_model_in_eval_mode_stays_there_and_partial_modes_are_kept():
    module = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    module.eval()
    module[1].train()  # only the dropout in train mode: only it comes back to train
    assert in_eval_mode(lambda h: [m.training for m in module.modules()], module)(0) == [False, False, False]
    assert [m.training for m in module.modules()] == [False, False, True]
