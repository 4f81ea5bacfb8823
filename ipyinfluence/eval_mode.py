"""Run part of a HF model in eval mode (no dropout), safely across threads.

The engine runs the model's own head (RoBERTa's and ELECTRA's classification heads contain
dropout) and must run it without dropout whatever mode the caller left the model in
(issue 9.4). The switch is shared state: with a per-call switch, one thread restored train
mode while another thread's head was running, and that head's dropout fired (issue 16.10:
13 of 90 concurrent results differed from serial ones, and the caller's mode could be left
at eval). Here concurrent users of one module share one switch: the first to enter puts the
modules that are training into eval mode, the last to leave restores them, all under a lock.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator

from torch import nn

_LOCK = threading.Lock()
# id(module) -> [holders, the submodules switched from train to eval by the first holder]
_HELD: dict[int, list] = {}


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """The block runs with every submodule of ``module`` in eval mode; modes are restored
    when the last concurrent block on the same module ends."""
    key = id(module)
    with _LOCK:
        held = _HELD.get(key)
        if held is None:
            switched = [m for m in module.modules() if m.training]
            for m in switched:
                m.training = False
            held = _HELD[key] = [0, switched]
        held[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            held[0] -= 1
            if held[0] == 0:
                del _HELD[key]
                for m in held[1]:
                    m.training = True
