"""Path share (docs/method.md §6): the share of source-to-QoI paths whose every node lies in Π.

Paths are counted exactly, with Python integers, by dynamic programming over layers
(the totals pass 10^11 for BERT-small at the attention level; integers never overflow).

* ``G_e``: ``x_i -> h^0_i -> h^1_{j1} -> .. -> h^L_{jL} -> q`` for each source ``i``.
* ``G_a``: between ``h^{l-1}_j`` and ``h^l_k`` the route is one of the heads ``a^l_{k,h}``
  or, only when ``j == k``, the skip ``s^l_k``.

The last hop ``h^L_k -> q`` exists for ``k`` = the QoI's readout position, or for every
``k`` when the QoI has none (``readout=None``; pass ``readout=0`` for a classifier that
reads [CLS] alone). The QoI itself always counts as in Π.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ..results import Explanation
from .nodes import Node, _check_level


@dataclass
class PathShare:
    kept: int  # paths with every node in Π
    total: int  # all source-to-QoI paths of the graph
    share: float  # kept / total (exact integers divided once)


def count_paths(nodes: set | frozenset | None, num_layers: int, length: int, num_heads: int,
                sources: Iterable[int], readout: int | None = None, level: str = "embedding") -> int:
    """Number of source-to-QoI paths of ``G_e`` / ``G_a`` inside ``nodes`` (all paths if None)."""
    _check_level(level)
    full = nodes is None
    keep = (lambda n: True) if full else (lambda n: n in nodes)  # noqa: E731
    count = [0] * length
    for i in sources:
        if keep(("x", i)) and keep(("h", 0, i)):
            count[i] = 1
    for l in range(1, num_layers + 1):
        total = sum(count)
        new = [0] * length
        for k in range(length):
            if not keep(("h", l, k)):
                continue
            if level == "embedding":
                new[k] = total
            else:
                heads = sum(1 for h in range(num_heads) if keep(("a", l, k, h)))
                new[k] = heads * total + (count[k] if keep(("s", l, k)) else 0)
        count = new
    ends = range(length) if readout is None else [readout]
    return sum(count[k] for k in ends)


def path_share(nodes: Iterable[Node], num_layers: int, length: int, num_heads: int, sources: Iterable[int],
               readout: int | None = None, level: str = "embedding") -> PathShare:
    """Paths inside ``nodes`` over all paths, from ``sources`` to the QoI."""
    sources = list(sources)
    kept = count_paths(frozenset(nodes), num_layers, length, num_heads, sources, readout, level)
    total = count_paths(None, num_layers, length, num_heads, sources, readout, level)
    return PathShare(kept=kept, total=total, share=kept / total if total else float("nan"))


def explanation_path_share(explanation: Explanation, nodes: Iterable[Node], level: str = "embedding") -> PathShare:
    """:func:`path_share` with the graph of one explanation (its sources and readout)."""
    return path_share(nodes, explanation.num_layers, len(explanation.tokens), explanation.num_heads,
                      explanation.sources, explanation.readout_position, level)
