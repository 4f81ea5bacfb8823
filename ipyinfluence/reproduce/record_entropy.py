"""Pattern entropy (SPEC §6) over stored records: per task (``Π_+``) and per template position.

Entropy compares patterns over instances of one template, so it needs one token layout.
The SVA/RA tasks have one by construction (the paper's fixed-layout filter). SST-2
sentences have many lengths: the task's ``Ĥ(Π_+)`` is then the mean of ``Ĥ`` over the
groups of equal length that hold at least two sentences, weighted by their sizes, and
per-position entropy is not defined (a position is no template role there).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Sequence

from ..metrics import graph_nodes, pattern_entropy, pattern_nodes, union_nodes
from .instance_record import record_words


def _graph(record: dict, level: str):
    return graph_nodes(record["num_layers"], len(record["tokens"]), record["num_heads"], level)


def fixed_layout(records: Sequence[dict]) -> bool:
    return len({tuple(r["token_roles"]) for r in records}) == 1


def task_entropy(records: Sequence[dict], level: str, method: str = "gpr") -> float:
    """``Ĥ`` of the instances' ``Π_+`` (see module doc for mixed lengths); nan if undefined."""
    groups: dict[int, list[dict]] = defaultdict(list)
    for r in records:
        groups[len(r["tokens"])].append(r)
    total = weight = 0.0
    for group in groups.values():
        if len(group) < 2 and len(groups) > 1:
            continue
        patterns = [union_nodes(record_words(r, method), level, +1) for r in group]
        total += len(group) * pattern_entropy(patterns, _graph(group[0], level))
        weight += len(group)
    return total / weight if weight else math.nan


def position_entropy(records: Sequence[dict], position: int, level: str, method: str = "gpr") -> float:
    """``Ĥ`` of the pattern of the word at ``position`` over instances of one layout."""
    patterns = []
    for r in records:
        word = next(w for w in record_words(r, method) if w.position == position)
        patterns.append(pattern_nodes(word, level))
    return pattern_entropy(patterns, _graph(records[0], level))
