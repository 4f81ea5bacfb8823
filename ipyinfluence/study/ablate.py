"""The causal check of a study: zero a node set in every sentence, read the QoI before and
after, next to a control that zeroes as many randomly chosen nodes.

Node sets are the metrics' node tuples (:mod:`ipyinfluence.metrics.nodes`), built per
sentence from a spec that names roles, so one call covers every sentence:

* ``layer=3, head=4, at="subject"``: head 4 (numbered from 0) of layer 3 at the
  subject's position (``at=None``: at every position; ``head="skip"``: the skip node);
* ``pattern="subject"``: the nodes of the subject word's GPR pattern (its heads, skips
  and ``h`` nodes; the source embedding ``x`` is never ablated);
* ``routes=[(layer, route, role), ...]``: several heads / skips;
* ``nodes=``: a node set, or a function ``(instance, explanation) -> nodes``.

Several given together are united. The zeroing is the metrics' ablation
(:func:`ipyinfluence.metrics.ablate` at the attention level, keeping every node except
the chosen ones: head context vectors are zeroed before ``W_O`` so ``b_O`` is still
added, skips leave the residual sum, ``h`` nodes are zeroed). The control, per sentence,
zeroes the same number of nodes of each kind and layer, drawn at random (seeded) from
the graph's other nodes (:func:`ipyinfluence.metrics.match_layer_counts`).

Accuracy is the share of sentences with ``q > 0``: with a QoI oriented correct − wrong
(:class:`~ipyinfluence.study.ContrastBy`, the tasks), the share the model gets right.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence, Union

from ..errors import InputError
from ..metrics.ablation import ablate as ablate_one
from ..metrics.nodes import graph_nodes, layer_counts, match_layer_counts, pattern_nodes
from ..results import SKIP, Explanation
from .aggregate import word_at_role
from .sentence_set import SentenceInstance

NodeSpec = Union[Iterable[tuple], Callable[[SentenceInstance, Explanation], Iterable[tuple]], None]


def _positions(instance: SentenceInstance, at: str | None, length: int) -> tuple[int, ...]:
    if at is None:
        return tuple(range(length))
    positions = instance.role_positions().get(at)
    if not positions:
        raise InputError(f"no role {at!r} in {instance.text!r}; its roles are {list(instance.role_positions())}.")
    return positions


def _route_nodes(layer: int, route, positions: Sequence[int], num_layers: int, num_heads: int) -> set:
    if isinstance(layer, bool) or not isinstance(layer, int) or not 1 <= layer <= num_layers:
        raise InputError(f"layer must be 1..{num_layers} (a transformer layer); got {layer!r}.")
    if route == SKIP:
        return {("s", layer, k) for k in positions}
    if isinstance(route, bool) or not isinstance(route, int) or not 0 <= route < num_heads:
        raise InputError(f"head must be 0..{num_heads - 1} (numbered from 0) or 'skip'; got {route!r}.")
    return {("a", layer, k, route) for k in positions}


def chosen_nodes(instance: SentenceInstance, explanation: Explanation, *, layer: int | None = None, head=None,
                 at: str | None = None, pattern: str | None = None, routes: Sequence[tuple] | None = None,
                 nodes: NodeSpec = None) -> frozenset:
    """The node set a spec names in one sentence (see the module doc)."""
    L, A, n = explanation.num_layers, explanation.num_heads, len(explanation.tokens)
    out: set = set()
    if head is not None or layer is not None:
        if head is None or layer is None:
            raise InputError("give both layer= and head= (e.g. layer=3, head=4, at='subject').")
        out |= _route_nodes(layer, head, _positions(instance, at, n), L, A)
    for spec in routes or ():
        if len(spec) != 3:
            raise InputError(f"each route is (layer, head or 'skip', role or None); got {spec!r}.")
        l, r, role = spec
        out |= _route_nodes(l, r, _positions(instance, role, n), L, A)
    if pattern is not None:
        w = word_at_role(instance, explanation, pattern)
        if w is None:
            raise InputError(f"the role {pattern!r} is not a source word of {instance.text!r}.")
        level = "attention" if w.attention is not None else "embedding"
        out |= {x for x in pattern_nodes(w, level) if x[0] != "x"}
    if nodes is not None:
        out |= set(nodes(instance, explanation) if callable(nodes) else nodes)
    if not out:
        raise InputError("no nodes to ablate: give layer= and head= (with at=), pattern=, routes= or nodes=.")
    return frozenset(out)


def random_control(chosen: frozenset, num_layers: int, length: int, num_heads: int, seed: int) -> frozenset:
    """As many nodes per kind and layer as ``chosen``, drawn at random (seeded) from the others;
    from the whole layer where the others are too few (e.g. a head ablated at every position)."""
    every = graph_nodes(num_layers, length, num_heads, "attention")
    others = [x for x in every if x not in chosen]
    try:
        return match_layer_counts((), layer_counts(chosen), others, seed=seed)
    except ValueError:
        return match_layer_counts((), layer_counts(chosen), every, seed=seed)


@dataclass
class AblationResult:
    """QoI per sentence unablated, ablated, and with the random control ablated."""

    description: str
    indices: list[int]
    q_before: list[float]
    q_after: list[float]
    q_control: list[float] = field(default_factory=list)
    nodes_per_sentence: list[int] = field(default_factory=list)

    @staticmethod
    def _accuracy(qs: Sequence[float]) -> float:
        return sum(q > 0 for q in qs) / len(qs) if qs else float("nan")

    @property
    def accuracy_before(self) -> float:
        return self._accuracy(self.q_before)

    @property
    def accuracy_after(self) -> float:
        return self._accuracy(self.q_after)

    @property
    def accuracy_control(self) -> float:
        return self._accuracy(self.q_control)

    def summary_rows(self) -> list[tuple[str, float, float]]:
        rows = [("unablated", statistics.fmean(self.q_before), self.accuracy_before),
                (f"ablated: {self.description}", statistics.fmean(self.q_after), self.accuracy_after)]
        if self.q_control:
            rows.append(("random control (same node counts)", statistics.fmean(self.q_control),
                         self.accuracy_control))
        return rows

    def summary(self) -> str:
        lines = [f"| {len(self.indices)} sentences | mean q | accuracy (q > 0) |", "|---|---:|---:|"]
        lines += [f"| {name} | {q:+.4g} | {acc:.0%} |" for name, q, acc in self.summary_rows()]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"description": self.description, "indices": self.indices, "q_before": self.q_before,
                "q_after": self.q_after, "q_control": self.q_control, "nodes_per_sentence": self.nodes_per_sentence,
                "accuracy_before": self.accuracy_before, "accuracy_after": self.accuracy_after,
                "accuracy_control": self.accuracy_control if self.q_control else None}

    def __repr__(self) -> str:
        return self.summary()


def describe(*, layer=None, head=None, at=None, pattern=None, routes=None, nodes=None) -> str:
    parts = []
    if head is not None:
        what = "the skip" if head == SKIP else f"head {head}"
        parts.append(f"{what} of layer {layer}" + (f" at the {at}" if at else " at every position"))
    for l, r, role in routes or ():
        parts.append(("skip" if r == SKIP else f"head {r}") + f" of layer {l}" + (f" at the {role}" if role else ""))
    if pattern is not None:
        parts.append(f"the {pattern}'s pattern")
    if nodes is not None:
        parts.append("the given nodes")
    return "; ".join(parts)


def ablate_study(model, instances: Sequence[SentenceInstance], qois: Sequence[Any],
                 explanations: dict[int, Explanation], *, indices: Sequence[int] | None = None, control: bool = True,
                 seed: int = 0, **spec) -> AblationResult:
    """Run one ablation spec over the explained sentences (``indices``: a subset)."""
    indices = sorted(explanations) if indices is None else list(indices)
    if not indices:
        raise InputError("no explained sentences to ablate: run the study first.")
    result = AblationResult(description=describe(**spec), indices=indices, q_before=[], q_after=[])
    for i in indices:
        inst, e = instances[i], explanations[i]
        chosen = chosen_nodes(inst, e, **spec)
        every = graph_nodes(e.num_layers, len(e.tokens), e.num_heads, "attention")
        r = ablate_one(model, inst.text, qois[i], [x for x in every if x not in chosen], "attention")
        result.q_before.append(r.q_original)
        result.q_after.append(r.q_ablated)
        result.nodes_per_sentence.append(len(chosen))
        if control:
            ctrl = random_control(chosen, e.num_layers, len(e.tokens), e.num_heads, seed * 1_000_003 + i)
            rc = ablate_one(model, inst.text, qois[i], [x for x in every if x not in ctrl], "attention")
            result.q_control.append(rc.q_ablated)
    return result
