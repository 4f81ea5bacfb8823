"""Pattern entropy (docs/method.md §6, the paper's Sec. 4.3): how consistent patterns are over the
K instances of one template.

``Ĥ = (1/|G|) Σ_{n ∈ G} H(p_n)``, ``p_n`` the share of instances whose pattern contains
node ``n`` and ``H(p) = −p log2 p − (1−p) log2 (1−p)`` the binary entropy in bits. ``G``
is the graph's node set without the QoI (:func:`nodes.graph_nodes`: ``x``, ``h`` and, at
the attention level, heads and skips), so ``0 <= Ĥ <= 1``; nodes in no pattern add 0.

What "the pattern of an instance" is, is the caller's choice: one word's pattern (the
templates fix the layout, so a position names the same word in every instance, e.g. the
subject) or the union ``Π_+``; :func:`template_patterns` builds either.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Collection, Iterable, Sequence

from ..results import Explanation
from .nodes import Node, graph_nodes, pattern_nodes, union_nodes


def binary_entropy(p: float) -> float:
    """Entropy of a Bernoulli(p) in bits (0 at p = 0 or 1)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"a probability must lie in [0, 1]; got {p}.")
    if p in (0.0, 1.0):
        return 0.0
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def pattern_entropy(patterns: Sequence[Collection[Node]], graph: int | Iterable[Node]) -> float:
    """``Ĥ`` over the instances' patterns; ``graph`` is ``G`` (its nodes) or ``|G|``.

    When nodes of ``G`` are given, pattern nodes outside it are an error (a mismatch of
    level or sentence length).
    """
    k = len(patterns)
    if k == 0:
        raise ValueError("pattern entropy needs at least one instance.")
    counts = Counter(n for p in patterns for n in set(p))
    if isinstance(graph, int):
        size = graph
    else:
        nodes = set(graph)
        stray = set(counts) - nodes
        if stray:
            raise ValueError(f"{len(stray)} pattern nodes are not in the graph, e.g. {sorted(stray)[:3]}; "
                             "are the instances of one template, at one level?")
        size = len(nodes)
    if size <= 0:
        raise ValueError("the graph has no nodes.")
    # fsum: exactly rounded, so the (hash-dependent) order of the set cannot change a digit
    return math.fsum(binary_entropy(c / k) for c in counts.values()) / size


def template_patterns(explanations: Sequence[Explanation], level: str = "embedding", position: int | None = None,
                      sign: int | None = +1) -> list[frozenset]:
    """Per instance the pattern of the word at ``position``, or the union over words of
    ``sign`` (``Π_+`` by default) when ``position`` is None."""
    out = []
    for e in explanations:
        if position is None:
            out.append(union_nodes(e, level, sign))
        else:
            out.append(pattern_nodes(e.word(position), level))
    return out


def template_entropy(explanations: Sequence[Explanation], level: str = "embedding", position: int | None = None,
                     sign: int | None = +1) -> float:
    """``Ĥ`` over explanations of one template (all must have the same length)."""
    if not explanations:
        raise ValueError("pattern entropy needs at least one instance.")
    first = explanations[0]
    lengths = {len(e.tokens) for e in explanations}
    if len(lengths) != 1:
        raise ValueError(f"instances of one template share one length; got lengths {sorted(lengths)}.")
    graph = graph_nodes(first.num_layers, len(first.tokens), first.num_heads, level)
    return pattern_entropy(template_patterns(explanations, level, position, sign), graph)
