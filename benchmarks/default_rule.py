"""What the default rule buys: CPU time of ``explain`` with the paper's rule (51 points,
plain mean) against Gauss–Legendre with 32 nodes (the default), on the offline all-MiniLM-L6-v2,
both levels, every word of two natural sentences, one torch thread. Each setting runs in a
fresh process, interleaved, best of 3 repeats; ``--old-tree PATH`` adds the paper's rule run
by another checkout of the project, so the table compares two versions too.

    python benchmarks/default_rule.py [--rounds 2] [--old-tree /path/to/old/checkout]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEXTS = ["the quick brown fox jumps over the lazy dog near the river .",
         "a young woman reads an old book in the quiet library every morning ."]
CHILD = r"""
import inspect, json, sys, time, torch
torch.set_num_threads(1)
from ipyinfluence import EmbeddingSimilarity, explain, load_model
steps, rule, texts = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
m = load_model("sentence-transformers/all-MiniLM-L6-v2")
q = EmbeddingSimilarity("a writer is glad .")
# the rule by name (the default is Gauss–Legendre); a checkout without the option knows only the paper's rule
kw = {"quadrature": rule} if "quadrature" in inspect.signature(explain).parameters else {}
explain(m, texts[0], q, steps=steps, **kw)  # warm-up
best = float("inf")
for _ in range(3):
    c0 = time.process_time()
    for t in texts:
        explain(m, t, q, steps=steps, **kw)
    best = min(best, time.process_time() - c0)
print(json.dumps({"cpu_s": best}))
"""


def run(tree: Path, steps: int, rule: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", CHILD, str(steps), rule, json.dumps(TEXTS)], env=env, cwd=tree,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["cpu_s"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--old-tree", type=Path, default=None)
    args = p.parse_args()
    settings = ([("old checkout, paper/51", args.old_tree, 51, "paper")] if args.old_tree else []) + [
        ("this checkout, paper/51", REPO, 51, "paper"), ("this checkout, Gauss–Legendre/32 (default)", REPO, 32,
                                                         "gauss-legendre")]
    times = {name: [] for name, *_ in settings}
    for _ in range(args.rounds):  # interleaved, so a busy neighbour slows every setting alike
        for name, tree, steps, rule in settings:
            times[name].append(run(tree, steps, rule))
    ref = min(times[settings[0][0]])
    print(f"\nall-MiniLM-L6-v2, EmbeddingSimilarity, both levels, {len(TEXTS)} sentences, 1 thread; "
          f"CPU s, best of 3 × {args.rounds} rounds; load {os.getloadavg()[0]:.1f}\n")
    print("| setting | CPU s | speed-up over the first row |\n|---|---:|---:|")
    for name, *_ in settings:
        print(f"| {name} | {min(times[name]):.2f} | {ref / min(times[name]):.2f}× |")


if __name__ == "__main__":
    main()
