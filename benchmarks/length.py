"""Time and peak memory against input length (issue 11.2), with the growth exponents.

Each (model, length) runs in a fresh process, ``memory_probe.py`` (peak = ``VmHWM`` reset
after set-up, so it covers the ``explain`` call only; the default ``max_batch=None``
chunking), which also times the engine's phases. To keep the run short only the first
``--words`` source words are explained (``sources=``); the time for all words is
extrapolated linearly in words, which is exact for the engine's structure (one shared
pass, then per-word sweeps):

    all words ≈ prepare + (sweeps / words) × all_words

Times are process CPU seconds (one torch thread): on the shared box a process gets a
varying share of a core, and CPU time is the work done, whatever the share; the wall time
of the whole call is printed too.

Expected growth at fixed width: a word's sweeps cost O(N·H²) (dense layers) + O(N²·H)
(attention) per layer, so the per-word exponent goes from 1 toward 2 as N grows; all
words add one more N (toward 3). The fit is the log-log slope over every length, and
the local slope over the last two.

    python benchmarks/length.py                                   # bert-small, bert-base; 11…256 tokens
    python benchmarks/length.py --models bert-small --lengths 11,32 --words 1
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from configs import load_average  # noqa: E402

SWEEPS = ("embedding_level", "attention_level", "to_word_results")


def probe(config: str, words: int, steps: int, quadrature: str, threads: int) -> dict:
    cmd = [sys.executable, str(HERE / "memory_probe.py"), "--config", config, "--side", "engine",
           "--max-words", str(words), "--steps", str(steps), "--quadrature", quadrature, "--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if out.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def slope(xs, ys) -> float:
    """Least-squares slope of log y against log x."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def row(r: dict) -> dict:
    ph = r["phase_cpu_seconds"]
    sweeps = sum(ph.get(k, 0.0) for k in SWEEPS)
    per_word = sweeps / r["words"]
    return {"config": r["config"], "words": r["words"], "all_words": r["all_words"], "seconds": r["seconds"],
            "cpu": r["cpu_seconds"],
            "prepare": ph.get("prepare", 0.0), "per_word": per_word,
            "all_est": ph.get("prepare", 0.0) + per_word * r["all_words"],
            "setup_mb": r["rss_after_setup_mb"], "added_mb": r["added_mb"],
            "peak_phase": max(r["phase_peak_mb"], key=r["phase_peak_mb"].get) if r["phase_peak_mb"] else "–"}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="bert-small,bert-base")
    p.add_argument("--lengths", default="11,32,64,128,256")
    p.add_argument("--words", type=int, default=2, help="source words explained per run (sources=)")
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--quadrature", default="gauss-legendre")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: the shared box oversubscribes)")
    a = p.parse_args(argv)
    lengths = [int(n) for n in a.lengths.split(",")]
    print(f"# {a.quadrature}/{a.steps}, first {a.words} source words, {a.threads} thread(s); "
          f"load average {load_average()} at start", flush=True)
    table = ["| config | words run | all words | wall s | CPU s | prepare CPU s | CPU s per word | all words CPU s (est.) "
             "| set-up MB | added peak MB | peak phase |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    fits = ["| model | per word: fit (11–max) | per word: last two | expected | all words: fit | all words: last two "
            "| expected | prepare: fit | peak MB: fit |", "|---|---|---|---|---|---|---|---|---|"]
    for model in a.models.split(","):
        rows = []
        for n in lengths:
            rows.append(row(probe(f"{model}/{n}", a.words, a.steps, a.quadrature, a.threads)))
            r = rows[-1]
            print(f"  {r['config']}: {r['seconds']:.1f}s wall, {r['cpu']:.1f}s CPU (prepare {r['prepare']:.1f}s, {r['per_word']:.2f}s/word), "
                  f"+{r['added_mb']:.0f} MB, load {load_average()}", flush=True)
            table.append(f"| {r['config']} | {r['words']} | {r['all_words']} | {r['seconds']:.3g} | {r['cpu']:.3g} | {r['prepare']:.3g} "
                         f"| {r['per_word']:.3g} | {r['all_est']:.3g} | {r['setup_mb']:.0f} | {r['added_mb']:.0f} "
                         f"| {r['peak_phase']} |")
        ns = lengths
        fits.append(f"| {model} | {slope(ns, [r['per_word'] for r in rows]):.2f} "
                    f"| {slope(ns[-2:], [r['per_word'] for r in rows[-2:]]):.2f} | 1 → 2 "
                    f"| {slope(ns, [r['all_est'] for r in rows]):.2f} "
                    f"| {slope(ns[-2:], [r['all_est'] for r in rows[-2:]]):.2f} | 2 → 3 "
                    f"| {slope(ns, [max(r['prepare'], 1e-3) for r in rows]):.2f} "
                    f"| {slope(ns, [max(r['added_mb'], 1.0) for r in rows]):.2f} |")
    print(f"# load average {load_average()} at end\n")
    print("\n".join(table))
    print()
    print("\n".join(fits))


if __name__ == "__main__":
    main()
