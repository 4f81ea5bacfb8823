"""Peak memory of one run, in a fresh process (``python benchmarks/memory_probe.py ...``).

torch allocates outside Python's allocator, so ``tracemalloc`` sees nothing. The peak is
the kernel's high-water mark of this process's resident set, ``VmHWM`` in
``/proc/self/status``, reset after set-up (``/proc/self/clear_refs`` ← 5) so it covers the
measured call only. Not ``ru_maxrss``: Linux carries that across ``execve``, so a probe
started by a large parent (``subprocess`` forks it from the benchmark) would report the
parent's size. A sampling thread also records the resident set per engine phase, so the
report says which phase holds the peak.

Prints one JSON line: ``rss_after_setup_mb``, ``peak_rss_mb``, ``added_mb`` (peak minus
set-up: what the call itself needed), ``seconds``, ``cpu_seconds``, ``phase_peak_mb``,
``phase_seconds`` and ``phase_cpu_seconds`` (wall and process CPU time inside each engine
phase; ``prepare`` is the shared pass).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from configs import MODELS, STEPS, make_case, plain_inputs, time_engine, time_plain_forward  # noqa: E402

PHASES = ("prepare", "embedding_level", "attention_level", "to_word_results")


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"{field} not in /proc/self/status (Linux only)")


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class PhaseSampler:
    """Samples the resident set every ``period`` s and keeps the max per engine phase."""

    def __init__(self, period: float = 0.005):
        self.period, self.phase, self.peaks, self.seconds, self.cpu = period, "other", {}, {}, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._statm = open("/proc/self/statm")
        self._page_mb = 4096 / 2**20

    def _run(self):
        while not self._stop.is_set():
            self._statm.seek(0)
            rss = int(self._statm.read().split()[1]) * self._page_mb
            if rss > self.peaks.get(self.phase, 0.0):
                self.peaks[self.phase] = rss
            time.sleep(self.period)

    def __enter__(self):
        ex = importlib.import_module("ipyinfluence.explain")
        self._originals = {}
        for name in PHASES:
            fn = getattr(ex, name, None)
            if fn is None:
                continue
            self._originals[name] = fn

            def wrapped(*a, _fn=fn, _name=name, **k):
                outer, self.phase = self.phase, _name
                t, c = time.perf_counter(), time.process_time()
                try:
                    return _fn(*a, **k)
                finally:
                    self.seconds[_name] = self.seconds.get(_name, 0.0) + time.perf_counter() - t
                    self.cpu[_name] = self.cpu.get(_name, 0.0) + time.process_time() - c
                    self.phase = outer
            setattr(ex, name, wrapped)
        self._module = ex
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        for name, fn in self._originals.items():
            setattr(self._module, name, fn)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True, help="MODEL/TOKENS, e.g. bert-base/64")
    p.add_argument("--side", choices=("engine", "plain"), required=True)
    p.add_argument("--max-batch", type=int, default=None, help="explain(max_batch=...); default None (engine's choice)")
    p.add_argument("--max-words", type=int, default=None, help="explain only the first N source words")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--steps", type=int, default=STEPS, help=f"integration steps (default {STEPS})")
    p.add_argument("--quadrature", choices=("paper", "gauss-legendre"), default=None,
                   help="integration rule (default: explain's, the paper's for a number of steps)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    name, tokens = a.config.split("/")
    case = make_case(MODELS[name], int(tokens), max_words=a.max_words)
    inputs = plain_inputs(case, a.steps) if a.side == "plain" else None
    before = _status_mb("VmRSS")
    reset = _reset_peak()
    with PhaseSampler() as sampler:
        cpu, wall = time.process_time(), time.perf_counter()
        if a.side == "engine":
            time_engine(case, steps=a.steps, max_batch=a.max_batch, quadrature=a.quadrature)
        else:
            time_plain_forward(case, inputs)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = _status_mb("VmHWM")
    print(json.dumps({
        "config": a.config, "side": a.side, "max_batch": a.max_batch, "words": len(case.sources),
        "all_words": case.all_sources, "steps": a.steps, "quadrature": a.quadrature, "threads": torch.get_num_threads(),
        "rss_after_setup_mb": round(before, 1), "peak_rss_mb": round(peak, 1), "peak_reset": reset,
        "added_mb": round(peak - before, 1), "seconds": round(wall, 3), "cpu_seconds": round(cpu, 3),
        "phase_peak_mb": {k: round(v, 1) for k, v in sampler.peaks.items()},
        "phase_seconds": {k: round(v, 3) for k, v in sampler.seconds.items()},
        "phase_cpu_seconds": {k: round(v, 3) for k, v in sampler.cpu.items()},
    }))


if __name__ == "__main__":
    main()
