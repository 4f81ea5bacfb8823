"""Issue 9.8: Table 1 numbers are the same bits whatever ``PYTHONHASHSEED``: pattern entropy
sums over a set of nodes (whose order follows string hashes: routes are ``"skip"`` or head
numbers), so the sum is taken exactly (``math.fsum``) and the order cannot change a digit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# 9 instances' patterns over attention-level style nodes (strings in them, as "skip" routes),
# each node in a different number of instances, so the terms differ and order matters.
CODE = """
import random
from ipyinfluence.metrics.entropy import pattern_entropy
rng = random.Random(7)
nodes = [("a", layer, pos, "skip" if h < 0 else f"head{h}") for layer in range(4) for pos in range(9) for h in range(-1, 4)]
patterns = [frozenset(n for n in nodes if rng.random() < 0.1 + 0.8 * i / 9) for i in range(9)]
print(repr(pattern_entropy(patterns, len(nodes))))
"""


def entropy_under_hash_seed(seed: int) -> str:
    env = dict(os.environ, PYTHONHASHSEED=str(seed),
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", CODE], check=True, env=env, timeout=120, capture_output=True, text=True)
    return done.stdout.strip()


def test_pattern_entropy_does_not_depend_on_the_hash_seed():
    values = {entropy_under_hash_seed(s) for s in range(3)}
    assert len(values) == 1, values
