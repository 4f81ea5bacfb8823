"""How many torch threads an interactive run uses.

Torch's OpenMP pool spins while it waits: when another process keeps a core busy, a
pool as wide as the machine stalls on the busy core, and a first run that takes ~1 s
on a quiet machine took 20-30 s (issue 10; ``benchmarks/threads.py`` measures it). An
interactive run therefore uses :func:`interactive_threads`:

* ``threads=`` given (an int >= 1), or else the ``IPYINFLUENCE_THREADS`` environment
  variable: that many, at most :func:`max_threads` (the logical CPUs this process may
  use): a larger count is lowered to it with a :class:`TooManyThreadsWarning` (more
  threads than CPUs only wait on each other, and thousands make OpenMP fail to create
  them and abort the kernel; issue 16.3);
* otherwise ("auto"): the physical cores this process may use, less the cores other
  processes keep busy (the machine's CPU use less this process's own, over the time since
  the last reading or a fresh 0.05 s, rounded), at least 1 — and never more
  than the caller's own ``torch.get_num_threads()`` (so ``OMP_NUM_THREADS`` or a
  ``torch.set_num_threads`` the user made still caps it).

:func:`torch_threads` applies a count for the duration of a block, in the calling thread
(OpenMP's thread count is per thread: a worker thread must set it itself).
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from typing import Iterator, Optional, Union

import torch

from .errors import InputError

THREADS_ENV = "IPYINFLUENCE_THREADS"


class TooManyThreadsWarning(UserWarning):
    """A thread count above the CPUs this process may use was lowered to that number."""


def max_threads() -> int:
    """The most torch threads a run may use: the logical CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def physical_cores() -> int:
    """Physical cores this process may run on (logical CPUs when that is unknown)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    try:
        import psutil

        physical = psutil.cpu_count(logical=False) or usable
    except ImportError:
        physical = usable
    return max(1, min(usable, physical))


def _cpu_times() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine, from /proc/stat (Linux)."""
    with open("/proc/stat") as f:
        fields = [float(v) for v in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


# The last reading: (monotonic seconds, machine busy jiffies, machine total jiffies, this
# process's CPU seconds). A run measures the machine over the window since the previous
# reading (taken by :func:`note_cpu_use` or by the previous call; none at import) instead
# of sleeping for a fresh window: the sleep was 50 ms of every Run click (issue 10.8).
_last_reading: Optional[tuple[float, float, float, float]] = None


def _reading() -> tuple[float, float, float, float]:
    busy, total = _cpu_times()
    return time.monotonic(), busy, total, time.process_time()


def note_cpu_use() -> None:
    """Start a measuring window now (the Explorer calls this when it is built and after
    each run), so that the next :func:`busy_cores` need not wait."""
    global _last_reading
    try:
        _last_reading = _reading()
    except (OSError, ValueError, IndexError):
        _last_reading = None


def busy_cores(sample_s: float = 0.05, max_age_s: float = 30.0) -> int:
    """Cores *other* processes keep busy, rounded: the machine's CPU use (/proc/stat) less
    this process's own (``time.process_time``), over the window since the last reading
    when that is between ``sample_s`` and ``max_age_s`` seconds old, else over a fresh
    ``sample_s`` wait; without /proc/stat, the 1-minute load average; else 0."""
    global _last_reading
    try:
        start = _last_reading
        if start is None or not sample_s <= time.monotonic() - start[0] <= max_age_s:
            start = _reading()
            time.sleep(sample_s)
        end = _reading()
        _last_reading = end
        ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        own = (end[3] - start[3]) * ticks
        share = max(0.0, end[1] - start[1] - own) / max(end[2] - start[2], 1e-9)
        return int(round(share * (os.cpu_count() or 1)))
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(round(os.getloadavg()[0]))
    except (AttributeError, OSError):
        return 0


def _parse(value: Union[int, str, None], what: str) -> Optional[int]:
    if value is None or value == "" or value == "auto":
        return None
    digits = value.strip() if isinstance(value, str) else ""
    if digits.isascii() and digits.isdigit():  # ASCII only: int() refuses "²", which isdigit() accepts
        n = int(digits) if len(digits) <= 9 else 10**9  # past int()'s digit limit too: "too many", not a crash
    else:
        n = value if isinstance(value, int) else 0
    if isinstance(value, bool) or n < 1:
        raise InputError(f"{what} must be a positive whole number of threads or 'auto'; got {value!r}.")
    limit = max_threads()
    if n > limit:
        shown = repr(value) if len(repr(value)) <= 20 else repr(value)[:20] + "…"
        warnings.warn(f"{what}={shown} is more threads than the {limit} CPUs this process may use; using {limit} "
                      f"(give at most {limit}, or 'auto').", TooManyThreadsWarning, stacklevel=3)
        return limit
    return n


def interactive_threads(threads: Union[int, str, None] = None, *, cap: Optional[int] = None) -> int:
    """The torch thread count for an interactive run (see the module doc).

    ``cap``: the caller's ``torch.get_num_threads()`` (read now when None).
    """
    n = _parse(threads, "threads")
    if n is None:
        n = _parse(os.environ.get(THREADS_ENV), THREADS_ENV)
    if n is not None:
        return n
    cap = torch.get_num_threads() if cap is None else cap
    return max(1, min(cap, physical_cores() - busy_cores()))


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[int]:
    """Run the block with ``n`` torch intra-op threads in this thread; restored after."""
    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield n
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)
