"""The ``replace_skip`` baseline (docs/method.md §5, attention level only).

It is a node set, not a per-word pattern: every skip node ``s^l_k`` of ``Π^a_+`` is
replaced by all ``A`` heads ``a^l_{k,0..A-1}`` at that position; every other node stays.
Ablating it asks whether the skips GPR keeps could be traded for attention.
"""

from __future__ import annotations

from typing import Iterable

from .nodes import Node


def replace_skip(nodes: Iterable[Node], num_heads: int) -> frozenset:
    """``nodes`` with each ``("s", l, k)`` swapped for ``("a", l, k, h)``, h = 0..A-1."""
    out = set()
    for n in nodes:
        if n[0] == "s":
            out.update(("a", n[1], n[2], h) for h in range(num_heads))
        else:
            out.add(n)
    return frozenset(out)
