"""Nodes of the influence graphs (docs/method.md §1) as plain tuples, and node sets built from results.

A node is a tuple whose first item names its kind:

* ``("x", i)``: the word embedding of token ``i`` (a pattern's source);
* ``("h", l, k)``: ``h^l_k``, l = 0..L;
* ``("a", l, k, h)``: head ``h``'s context vector at query position ``k`` in layer l = 1..L
  (heads numbered from 0, as in :mod:`ipyinfluence.results`);
* ``("s", l, k)``: the skip node of layer l = 1..L at position ``k``.

The QoI is implicit (every pattern ends there). ``Π = ∪_i π_i`` is a plain frozenset.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping, Union

import torch

from ..results import LEVELS, SKIP, Explanation, WordResult

Node = tuple


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}; got {level!r}.")


def words_of(results: Union[Explanation, WordResult, Iterable]) -> list[WordResult]:
    """Flatten an Explanation, a WordResult, or any iterable of them into WordResults."""
    if isinstance(results, WordResult):
        return [results]
    if isinstance(results, Explanation):
        return list(results.words)
    out: list[WordResult] = []
    for r in results:
        out.extend(words_of(r))
    return out


def pattern_nodes(word: WordResult, level: str = "embedding") -> frozenset:
    """The nodes of one word's pattern: ``x_i``, its ``h`` nodes and, at the attention
    level, the heads and skips it takes (all kept nodes when ``top_k > 1``)."""
    _check_level(level)
    nodes: set = {("x", word.position)}
    nodes.update(("h", l, p) for l, p in word.embedding.nodes)
    if level == "attention":
        if word.attention is None:
            raise ValueError(f"word {word.token!r} has no attention-level pattern; explain with level='attention'.")
        for step in word.attention.steps:
            for c in step.chosen:
                nodes.add(("s", step.layer, c.position) if c.route == SKIP
                          else ("a", step.layer, c.position, int(c.route)))
    return frozenset(nodes)


def union_nodes(results, level: str = "embedding", sign: int | None = +1) -> frozenset:
    """``Π = ∪ π_i`` over the words; ``sign=+1`` keeps words with ``g_i > 0`` (``Π_+``),
    ``-1`` those with ``g_i < 0``, ``None`` all words."""
    out: set = set()
    for w in words_of(results):
        if sign is None or (sign > 0 and w.total_influence > 0) or (sign < 0 and w.total_influence < 0):
            out |= pattern_nodes(w, level)
    return frozenset(out)


def graph_nodes(num_layers: int, length: int, num_heads: int, level: str = "embedding") -> list[Node]:
    """Every node of ``G_e`` or ``G_a`` (without the QoI) for a text of ``length`` tokens."""
    _check_level(level)
    nodes: list[Node] = [("x", i) for i in range(length)]
    nodes += [("h", l, k) for l in range(num_layers + 1) for k in range(length)]
    if level == "attention":
        nodes += [("a", l, k, h) for l in range(1, num_layers + 1) for k in range(length) for h in range(num_heads)]
        nodes += [("s", l, k) for l in range(1, num_layers + 1) for k in range(length)]
    return nodes


@dataclass
class NodeMasks:
    """Which nodes an ablation keeps (True) or zeroes (False)."""

    hidden: torch.Tensor  # (L+1, N): h^0..h^L
    heads: torch.Tensor  # (L, N, A): a^l_{k,h}, l = 1..L
    skips: torch.Tensor  # (L, N): s^l_k, l = 1..L


def node_masks(nodes: Iterable[Node], num_layers: int, length: int, num_heads: int, level: str = "embedding",
               device=None) -> NodeMasks:
    """Masks for an ablation at ``level`` (docs/method.md §6): at the embedding level only the ``h``
    nodes are ablated (every head and skip kept); at the attention level heads and skips
    not in the set are zeroed too. ``x`` nodes are never ablated."""
    _check_level(level)
    hidden = torch.zeros(num_layers + 1, length, dtype=torch.bool, device=device)
    attention = level == "attention"
    heads = torch.full((num_layers, length, num_heads), not attention, dtype=torch.bool, device=device)
    skips = torch.full((num_layers, length), not attention, dtype=torch.bool, device=device)
    for n in nodes:
        kind = n[0]
        if kind == "h":
            hidden[n[1], n[2]] = True
        elif attention and kind == "a":
            heads[n[1] - 1, n[2], n[3]] = True
        elif attention and kind == "s":
            skips[n[1] - 1, n[2]] = True
    return NodeMasks(hidden=hidden, heads=heads, skips=skips)


def layer_counts(nodes: Iterable[Node]) -> Counter:
    """Number of nodes per ``(kind, layer)`` (``x`` nodes are not counted: never ablated)."""
    return Counter((n[0], n[1]) for n in nodes if n[0] != "x")


def node_frequency(results, level: str = "embedding", sign: int | None = +1) -> Counter:
    """How many of the words' patterns contain each node (same word filter as :func:`union_nodes`)."""
    out: Counter = Counter()
    for w in words_of(results):
        if sign is None or (sign > 0 and w.total_influence > 0) or (sign < 0 and w.total_influence < 0):
            out.update(pattern_nodes(w, level))
    return out


def match_layer_counts(nodes: Iterable[Node], target: Mapping[tuple, int], universe: Iterable[Node],
                       ranking: Mapping[Node, float] | None = None, seed: int = 0) -> frozenset:
    """Trim or pad ``nodes`` to ``target[(kind, layer)]`` nodes per kind and layer, so a
    baseline ablates as many nodes per layer as GPR (docs/method.md §6).

    Too many: the highest-``ranking`` nodes stay. Too few: the highest-ranked nodes of
    ``universe`` (e.g. :func:`graph_nodes`) not yet in the set are added. Ranking
    defaults to 0 everywhere; ties are broken by a seeded random order. ``x`` nodes and
    groups not in ``target`` are left as they are. Typical use: ``target =
    layer_counts(gpr_Π)``, ``ranking = node_frequency(baseline_words)``.
    """
    ranking = ranking or {}
    rng = random.Random(seed)
    groups: dict[tuple, list] = defaultdict(list)
    for n in universe:
        if n[0] != "x":
            groups[(n[0], n[1])].append(n)
    current: dict[tuple, set] = defaultdict(set)
    kept = set()
    for n in nodes:
        if n[0] == "x" or (n[0], n[1]) not in target:
            kept.add(n)
        else:
            current[(n[0], n[1])].add(n)
    for key in sorted(target):  # a fixed order: the seeded tie-breaks must not follow dict/hash order
        want = target[key]
        have = current.get(key, set())
        if want > len(groups.get(key, [])) and want > len(have):
            raise ValueError(f"cannot keep {want} nodes of kind {key[0]!r} at layer {key[1]}: "
                             f"the graph has only {len(groups.get(key, []))}.")
        tiebreak = {n: rng.random() for n in sorted(set(groups.get(key, [])) | have)}
        order = lambda n: (-ranking.get(n, 0.0), tiebreak.get(n, 0.0))  # noqa: E731
        if len(have) >= want:
            kept.update(sorted(have, key=order)[:want])
        else:
            extra = sorted((n for n in groups.get(key, []) if n not in have), key=order)
            kept.update(have)
            kept.update(extra[:want - len(have)])
    return frozenset(kept)
