"""What a person waits for in the Explorer, in real Chromium (issue 10 items 1 and 8): the
Cancel click → "Cancelled" latency in JupyterLab (first and second run), Notebook 7 and
Voila (first and second run), and the Run click → last word drawn time of a 40-token
sentence in JupyterLab against the engine's own time in the same kernel. Optionally
beside busy processes, and for another checkout too (before/after in one session).

    python benchmarks/explorer_browser.py                        # this checkout, 3 rounds
    python benchmarks/explorer_browser.py --load 3 --repeat 2    # beside 3 busy processes
    python benchmarks/explorer_browser.py --checkout /path/to/old/worktree --checkout .

Each round runs ``tests/browser/test_explorer_redraw.py`` and
``tests/browser/test_explorer_cancel.py`` with pytest (this checkout's copies of those two
files and ``explorer_timing.py`` are put into another checkout's ``tests/browser`` first,
so both sides are measured the same way) and reads the numbers they record in
``tests/artifacts/explorer-timings.json``. Checkouts alternate within a round, so a
noisy minute hits both. Prints one table: min / median / max per measurement. The
"busy" processes are plain Python loops, started here and stopped by PID at the end.
Needs /usr/bin/chromium and playwright (``make browser``); only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEST_FILES = ("explorer_timing.py", "test_explorer_redraw.py", "test_explorer_cancel.py")
BUSY = "while True:\n    pass\n"


def run_round(checkout: Path) -> list[dict]:
    timings = checkout / "tests" / "artifacts" / "explorer-timings.json"
    before = len(json.loads(timings.read_text())) if timings.exists() else 0
    if checkout != REPO:
        for name in TEST_FILES:
            shutil.copy(REPO / "tests" / "browser" / name, checkout / "tests" / "browser" / name)
    env = dict(os.environ, PYTHONPATH=str(checkout))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *(f"tests/browser/{n}" for n in TEST_FILES[1:])],
                          cwd=checkout, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-2000:], file=sys.stderr)
    entries = json.loads(timings.read_text())[before:] if timings.exists() else []
    return entries


def summarize(values: list[float]) -> str:
    if not values:
        return "—"
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkout", action="append", type=Path,
                        help="a checkout to measure (repeatable; default: this one)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--load", type=int, default=0, help="busy processes beside the measurement")
    args = parser.parse_args()
    checkouts = [c.resolve() for c in (args.checkout or [REPO])]
    busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(args.load)]
    results: dict[Path, dict[str, list[float]]] = {c: {} for c in checkouts}
    try:
        for _ in range(args.repeat):
            for c in checkouts:
                for e in run_round(c):
                    table = results[c]
                    if "ratio" in e:
                        table.setdefault("redraw: browser / engine (×)", []).append(e["ratio"])
                        table.setdefault("redraw: Run → last word drawn (s)", []).append(e["browser_s"])
                        table.setdefault("redraw: engine alone (s)", []).append(e["engine_s"])
                    elif "stop_ms" in e:
                        table.setdefault(f"cancel: {e['name']} (s)", []).append(e["stop_ms"] / 1000)
    finally:
        for p in busy:
            p.kill()
            p.wait()
    load = os.getloadavg()[0]
    print(f"\n{args.repeat} round(s), {args.load} busy process(es), load average at the end {load:.1f}; "
          "min / median / max\n")
    names = sorted({n for t in results.values() for n in t}, key=lambda n: (not n.startswith("redraw"), n))
    print("| measurement | " + " | ".join(str(c) for c in checkouts) + " |")
    print("|---|" + "---|" * len(checkouts))
    for n in names:
        print(f"| {n} | " + " | ".join(summarize(results[c].get(n, [])) for c in checkouts) + " |")


if __name__ == "__main__":
    main()
