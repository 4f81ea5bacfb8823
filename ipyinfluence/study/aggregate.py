"""Aggregates of a study's patterns, per role and per layer, split by a condition.

For each role (the source word at that role's position in every sentence) and each
group of sentences (``"all"`` and every value of the condition):

* ``routes[l]``: how many patterns take the skip and each head into layer ``l`` (1..L),
  read from the attention-level pattern (empty at the embedding level);
* ``moves[l]``: where the embedding-level node goes at layer ``l``: ``"stay"`` (same
  position as at layer l-1) or the role of its new position;
* ``patterns``: the most common whole patterns, each written per layer as
  ``route@role`` of the node (``skip@subject → h3@[MASK]``), with their shares;
* ``entropy``: the paper's pattern entropy Ĥ over the group
  (:func:`ipyinfluence.metrics.pattern_entropy` over the word's pattern nodes; nan when
  the group mixes sentence lengths, which have different graphs);
* ``g_mean``/``g_std``: the word's ``g_i`` (mean, population standard deviation).

Conditions (``by``): None (only ``"all"``), ``"sentence_type"``, ``"slot:NAME"`` (the
filler of a slot), ``"label:NAME"`` (its label, e.g. the subject's number), ``"correct"``
(``q(x) > 0``: with a QoI oriented correct − wrong, the model is right), or any
function ``(instance, explanation) -> str``. A condition value whose text is ``"all"`` is
keyed ``'"all"'`` (quoted; ``'"all"'`` becomes ``'""all""'`` and so on), so the group of every
sentence keeps its name and no value can join it.

A route is ``"skip"`` or a head number (from 0, as in :mod:`ipyinfluence.results`);
tables write heads as ``h3``.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence, Union

from ..csv_cells import dicts_to_csv
from ..errors import InputError
from ..metrics.entropy import pattern_entropy
from ..metrics.nodes import graph_nodes, pattern_nodes
from ..results import SKIP, Explanation, Route, WordResult
from ..validation import check_layer
from .sentence_set import SentenceInstance

ALL = "all"
Condition = Union[None, str, Callable[[SentenceInstance, Explanation], Any]]


def route_label(route: Route) -> str:
    return SKIP if route == SKIP else f"h{int(route)}"


def condition_key(value: str) -> str:
    """The group key of a condition value: ``"all"`` (and its quoted forms) gain one pair of
    quotes, any other text is itself. One-to-one, and never ``"all"``."""
    inner = value
    while len(inner) >= 2 and inner[0] == inner[-1] == '"':
        inner = inner[1:-1]
    return f'"{value}"' if inner == ALL else value


def condition_value(by: Condition, instance: SentenceInstance, explanation: Explanation) -> str:
    """The key of the group ``instance`` joins under ``by`` (see :func:`condition_key`)."""
    return ALL if by is None else condition_key(_raw_condition_value(by, instance, explanation))


def _raw_condition_value(by: Condition, instance: SentenceInstance, explanation: Explanation) -> str:
    if callable(by):
        return str(by(instance, explanation))
    if by == "sentence_type":
        return instance.sentence_type or "(none)"
    if by == "correct":
        return "correct" if explanation.q_input > 0 else "wrong"
    if by.startswith("slot:"):
        return instance.slots.get(by[5:], "(none)")
    if by.startswith("label:"):
        return instance.labels.get(by[6:], "(none)")
    raise InputError(f"unknown condition {by!r}: use None, 'sentence_type', 'correct', 'slot:NAME', 'label:NAME' "
                     "or a function (instance, explanation) -> value.")


def word_at_role(instance: SentenceInstance, explanation: Explanation, role: str) -> WordResult | None:
    """The source word at ``role``'s first position (None if the role is not a source there)."""
    positions = instance.role_positions().get(role)
    if not positions:
        return None
    for w in explanation.words:
        if w.position == positions[0]:
            return w
    return None


def passes(word: WordResult, layer: int, route: Route) -> bool:
    """Whether the word's attention-level pattern takes ``route`` into layer ``layer``."""
    if word.attention is None:
        return False
    step = word.attention.steps[layer - 1]
    return any(c.route == route for c in step.chosen)


def pattern_signature(instance: SentenceInstance, word: WordResult) -> str:
    parts = []
    positions = word.embedding.positions
    for l in range(1, len(positions)):
        role = instance.role_at(positions[l])
        if word.attention is not None:
            parts.append(f"{route_label(word.attention.steps[l - 1].route)}@{role}")
        else:
            parts.append(f"@{role}")
    return " → ".join(parts)


@dataclass
class RoleAggregate:
    role: str
    count: int
    g_mean: float
    g_std: float
    entropy: float
    routes: list[Counter]  # per layer 1..L: route -> count
    moves: list[Counter]  # per layer 1..L: "stay" | role -> count
    patterns: list[tuple[str, int]]  # most common first
    indices: list[int] = field(default_factory=list)  # the sentences counted

    def route_share(self, layer: int, route: Route) -> float:
        check_layer(layer, len(self.routes))
        return self.routes[layer - 1].get(route, 0) / self.count if self.count else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role, "count": self.count, "g_mean": self.g_mean, "g_std": self.g_std,
            "entropy": self.entropy,
            "routes": [{route_label(r): c for r, c in sorted(cnt.items(), key=lambda rc: _route_order(rc[0]))}
                       for cnt in self.routes],
            "moves": [dict(cnt.most_common()) for cnt in self.moves],
            "patterns": [{"pattern": p, "count": c, "share": c / self.count} for p, c in self.patterns],
            "indices": list(self.indices),
        }


def _route_order(r: Route) -> int:
    return -1 if r == SKIP else int(r)


@dataclass
class Aggregates:
    """``groups[condition][role]`` -> :class:`RoleAggregate`; ``"all"`` is always there."""

    by: str
    level: str
    num_layers: int
    num_heads: int
    roles: list[str]
    groups: dict[str, dict[str, RoleAggregate]]

    @property
    def conditions(self) -> list[str]:
        return list(self.groups)

    def get(self, role: str, condition: str = ALL) -> RoleAggregate:
        if condition not in self.groups:
            raise InputError(f"no condition {condition!r}; the conditions are {self.conditions}.")
        if role not in self.groups[condition]:
            raise InputError(f"no role {role!r} (as a source); the roles are {self.roles}.")
        return self.groups[condition][role]

    def heatmap(self, role: str, condition: str = ALL) -> list[list[float]]:
        """Shares, rows = layers 1..L, columns = skip, h0..h(A-1)."""
        a = self.get(role, condition)
        cols: list[Route] = [SKIP] + list(range(self.num_heads))
        return [[a.route_share(l, r) for r in cols] for l in range(1, self.num_layers + 1)]

    def route_columns(self) -> list[str]:
        return [SKIP] + [f"h{h}" for h in range(self.num_heads)]

    def rows(self) -> list[dict[str, Any]]:
        """Flat rows (condition, role, layer, measure, key, value) for CSV."""
        out = []
        for cond, roles in self.groups.items():
            for role, a in roles.items():
                base = {"condition": cond, "role": role}
                for measure, value in (("count", a.count), ("g_mean", a.g_mean), ("g_std", a.g_std),
                                       ("entropy", a.entropy)):
                    out.append({**base, "layer": "", "measure": measure, "key": "", "value": value})
                for l in range(1, self.num_layers + 1):
                    for r, c in sorted(a.routes[l - 1].items(), key=lambda rc: _route_order(rc[0])):
                        out.append({**base, "layer": l, "measure": "route_share", "key": route_label(r),
                                    "value": c / a.count})
                    for dest, c in a.moves[l - 1].most_common():
                        out.append({**base, "layer": l, "measure": "move_share", "key": dest, "value": c / a.count})
                for p, c in a.patterns:
                    out.append({**base, "layer": "", "measure": "pattern_share", "key": p, "value": c / a.count})
        return out

    def to_csv(self) -> str:
        """:meth:`rows` as CSV; text cells a spreadsheet would evaluate are quoted (:mod:`..csv_cells`)."""
        return dicts_to_csv(["condition", "role", "layer", "measure", "key", "value"], self.rows())

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "level": self.level, "num_layers": self.num_layers, "num_heads": self.num_heads,
                "roles": self.roles,
                "groups": {c: {r: a.to_dict() for r, a in roles.items()} for c, roles in self.groups.items()}}

    def to_json(self, **kwargs) -> str:
        return json.dumps(_finite(self.to_dict()), **kwargs)


def _finite(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x


def _role_aggregate(role: str, members: Sequence[tuple[int, SentenceInstance, Explanation]], level: str,
                    num_layers: int, num_heads: int, top: int) -> RoleAggregate | None:
    words = []
    for i, inst, e in members:
        w = word_at_role(inst, e, role)
        if w is not None:
            words.append((i, inst, e, w))
    if not words:
        return None
    routes = [Counter() for _ in range(num_layers)]
    moves = [Counter() for _ in range(num_layers)]
    sigs: Counter = Counter()
    for _i, inst, _e, w in words:
        pos = w.embedding.positions
        for l in range(1, num_layers + 1):
            if w.attention is not None:
                for c in w.attention.steps[l - 1].chosen:
                    routes[l - 1][c.route] += 1
            moves[l - 1]["stay" if pos[l] == pos[l - 1] else inst.role_at(pos[l])] += 1
        sigs[pattern_signature(inst, w)] += 1
    g = [w.total_influence for *_x, w in words]
    lengths = {len(e.tokens) for _i, _inst, e, _w in words}
    pattern_level = "attention" if level == "attention" and all(w.attention is not None for *_x, w in words) \
        else "embedding"
    if len(lengths) == 1:
        graph = graph_nodes(num_layers, lengths.pop(), num_heads, pattern_level)
        entropy = pattern_entropy([pattern_nodes(w, pattern_level) for *_x, w in words], graph)
    else:
        entropy = float("nan")
    return RoleAggregate(role=role, count=len(words), g_mean=statistics.fmean(g), g_std=statistics.pstdev(g),
                         entropy=entropy, routes=routes, moves=moves, patterns=sigs.most_common(top),
                         indices=[i for i, *_x in words])


def aggregate(instances: Sequence[SentenceInstance], explanations: Mapping[int, Explanation], *,
              by: Condition = None, level: str | None = None, roles: Sequence[str] | None = None,
              top: int = 5) -> Aggregates:
    """Aggregates over the explained sentences (``explanations[i]`` explains ``instances[i]``)."""
    done = [(i, instances[i], e) for i, e in sorted(explanations.items())]
    if not done:
        raise InputError("nothing to aggregate yet: run the study first.")
    first = done[0][2]
    level = level or first.level
    if roles is None:
        roles = list(dict.fromkeys(r for _i, inst, _e in done for r in inst.token_roles))
    groups: dict[str, list] = {ALL: list(done)}
    if by is not None:
        for item in done:  # condition_value is never ALL here, so no group is the list iterated
            groups.setdefault(condition_value(by, item[1], item[2]), []).append(item)
    out: dict[str, dict[str, RoleAggregate]] = {}
    for cond, members in groups.items():
        out[cond] = {}
        for role in roles:
            a = _role_aggregate(role, members, level, first.num_layers, first.num_heads, top)
            if a is not None:
                out[cond][role] = a
    source_roles = [r for r in roles if r in out[ALL]]
    by_name = ALL if by is None else by if isinstance(by, str) else getattr(by, "__name__", "custom")
    return Aggregates(by=by_name, level=level, num_layers=first.num_layers, num_heads=first.num_heads, roles=source_roles,
                      groups=out)


def sentences_through(instances: Sequence[SentenceInstance], explanations: Mapping[int, Explanation], role: str,
                      layer: int, route: Route, *, by: Condition = None, condition: str = ALL) -> list[int]:
    """Indices of the sentences whose ``role`` word's pattern takes ``route`` into ``layer``."""
    check_layer(layer, max((e.num_layers for e in explanations.values()), default=None))
    out = []
    for i, e in sorted(explanations.items()):
        inst = instances[i]
        if condition != ALL and condition_value(by, inst, e) != condition:
            continue
        w = word_at_role(inst, e, role)
        if w is not None and passes(w, layer, route):
            out.append(i)
    return out
