"""Plain result types the engine streams to widgets, the CLI and the benchmarks.

Everything here is a dataclass of Python scalars, strings and lists, so a result
serialises to JSON and back exactly (floats keep all their bits through ``repr``).
No torch, no widgets: every consumer imports these, never the reverse.

Conventions
-----------
* Layers are numbered as in docs/method.md §1: ``0`` is the embedding output ``h^0``,
  ``1..L`` the transformer layers' outputs. The word embedding ``x_i`` and the QoI
  are the pattern's two ends and are implicit (source position, ``Explanation.qoi``).
* A *route* at the attention level is ``"skip"`` or a head index ``0..A-1``.
* Every step keeps the scores of all candidates it chose among, so a caller can
  show alternatives and check each choice: ``chosen`` are the ``top_k`` of
  :meth:`EmbeddingStep.ranking` (GPR: ``σ·score``; a baseline method: its own criterion,
  stored next to the influences), ties to the lowest position, and to the skip.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Union

from .errors import InputError
from .result_schema import check_explanation_dict

Route = Union[str, int]  # "skip" or a head index

SKIP = "skip"
LEVELS = ("embedding", "attention")  # the two graphs of SPEC §1: G_e and G_a


@dataclass
class EmbeddingStep:
    """One layer of an embedding-level pattern.

    ``scores[e]`` is the influence of the pattern restricted to node ``h^layer_e``
    (docs/method.md §4.1, ``mean_α <T^l_e, G^l_e>``); ``chosen`` are the kept positions, best
    first (one for GPR, ``top_k`` for the extension). Layer 0 has a single candidate,
    the source position itself. ``criterion`` is what a baseline method ranked the
    positions by, already multiplied by the sign it ranks with (``None`` for GPR,
    whose criterion is ``σ·scores``); ``None`` inside it marks a node the method could not
    reach (ranked last).
    """

    layer: int
    chosen: list[int]
    scores: list[float]
    criterion: list[float | None] | None = None

    @property
    def position(self) -> int:
        return self.chosen[0]

    def ranking(self, sign: int) -> list[float]:
        """The values whose ``top_k`` are ``chosen``: ``criterion``, or ``σ·scores`` for GPR."""
        if self.criterion is None:
            return [sign * v for v in self.scores]
        return [-math.inf if v is None else v for v in self.criterion]


@dataclass
class RouteCandidate:
    """A candidate route into ``h^layer_position`` at the attention level.

    ``score`` is the influence through the route; ``criterion`` what a baseline method
    ranked it by, sign included (``None`` for GPR: ``σ·score``)."""

    position: int
    route: Route
    score: float
    criterion: float | None = None

    def ranking(self, sign: int) -> float:
        if self.criterion is None:
            return sign * self.score
        return self.criterion


@dataclass
class AttentionStep:
    """One layer of an attention-level pattern (docs/method.md §4.2).

    ``candidates`` lists every route scored at this layer (the skip is a candidate only
    where the previous node sits at the same position), ``chosen`` the kept ones, best
    first. ``source_positions`` are the positions of the previous layer's nodes.
    """

    layer: int
    source_positions: list[int]
    chosen: list[RouteCandidate]
    candidates: list[RouteCandidate]

    @property
    def route(self) -> Route:
        return self.chosen[0].route

    @property
    def position(self) -> int:
        return self.chosen[0].position


@dataclass
class EmbeddingPattern:
    """``π^e_i = [x_i, h^0_i, h^1_{j1}, .., h^L_{jL}, q]`` and its influence."""

    steps: list[EmbeddingStep]
    influence: float
    method: str = "gpr"

    @property
    def positions(self) -> list[int]:
        """Best position per layer ``0..L``."""
        return [s.position for s in self.steps]

    @property
    def nodes(self) -> list[tuple[int, int]]:
        """All kept ``(layer, position)`` nodes."""
        return [(s.layer, p) for s in self.steps for p in s.chosen]


@dataclass
class AttentionPattern:
    """``π^a_i``: per layer ``1..L`` the route taken into the embedding-level node."""

    steps: list[AttentionStep]
    influence: float
    method: str = "gpr"

    @property
    def routes(self) -> list[Route]:
        return [s.route for s in self.steps]

    @property
    def skip_share(self) -> float:
        if not self.steps:
            return 0.0
        return sum(1 for s in self.steps if s.route == SKIP) / len(self.steps)


@dataclass
class WordResult:
    """Everything computed for one source word."""

    position: int
    token: str
    total_influence: float  # g_i, SPEC §2
    sign: int  # σ_i = sign(g_i), +1 when g_i == 0
    embedding: EmbeddingPattern
    attention: AttentionPattern | None = None

    @property
    def concentration(self) -> float:
        """``I(x, π^e_i) / g_i`` (docs/method.md §6); nan when ``g_i == 0``."""
        g = self.total_influence
        return self.embedding.influence / g if g != 0 else float("nan")


@dataclass
class Explanation:
    """The full result of :func:`ipyinfluence.explain`.

    ``words`` grows while a stream is running; ``complete`` says whether every source
    word has been computed.
    """

    text: str
    tokens: list[str]
    model: str
    qoi: str
    q_input: float
    q_baseline: float
    steps: int
    baseline: str
    level: str
    top_k: int
    num_layers: int
    num_heads: int
    sources: list[int]
    readout_position: int | None = None
    words: list[WordResult] = field(default_factory=list)
    method: str = "gpr"
    config: dict[str, Any] = field(default_factory=dict)
    quadrature: str = "paper"  # the integration rule over α; ``steps`` is its number of points

    @property
    def complete(self) -> bool:
        return len(self.words) == len(self.sources)

    @property
    def completeness_gap(self) -> float:
        """``Σ g_i - (q(x) - q(b))`` over all positions' words computed so far.

        Only meaningful when every position is a source; see docs/method.md §2.
        """
        return sum(w.total_influence for w in self.words) - (self.q_input - self.q_baseline)

    def word(self, position_or_token: int | str) -> WordResult:
        """The result for a source position, or for the first source with that token."""
        for w in self.words:
            if w.position == position_or_token or w.token == position_or_token:
                return w
        raise KeyError(
            f"no source word {position_or_token!r}; sources are "
            f"{[(w.position, w.token) for w in self.words]}"
        )

    def put_word(self, word: WordResult) -> None:
        """Add a streamed word, replacing an earlier result for the same position."""
        if not any(w is word for w in self.words):
            self.words = [w for w in self.words if w.position != word.position] + [word]

    # -- JSON ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, **kwargs: Any) -> str:
        """Strict JSON: a non-finite number (never made by the engine) is an error, not a bare ``NaN``."""
        kwargs.setdefault("allow_nan", False)
        try:
            return json.dumps(self.to_dict(), **kwargs)
        except ValueError as e:
            raise InputError(f"this Explanation holds a non-finite number, which JSON cannot store ({e}).") from None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Explanation":
        """The inverse of :meth:`to_dict`. ``data`` must fit the schema ``to_dict`` writes
        (:mod:`ipyinfluence.result_schema`); anything else is an :class:`InputError` naming
        the field."""
        check_explanation_dict(data, LEVELS)
        data = dict(data)
        data["words"] = [word_from_dict(w) for w in data.get("words", [])]
        return cls(**data)

    @classmethod
    def from_json(cls, text: str | bytes) -> "Explanation":
        """The inverse of :meth:`to_json` (see :meth:`from_dict`)."""
        if not isinstance(text, (str, bytes, bytearray)):
            raise InputError(f"not Explanation JSON: expected a string; got {type(text).__name__}.")
        try:
            data = json.loads(text)
        except RecursionError:  # json's C parser recurses once per nesting level
            raise InputError("not Explanation JSON: nested too deeply (an Explanation is at most a few levels "
                             "deep).") from None
        except (TypeError, ValueError) as e:
            raise InputError(f"not Explanation JSON: {e}.") from None
        return cls.from_dict(data)


def _route(value: Any) -> Route:
    return value if value == SKIP else int(value)


def _candidate(d: dict[str, Any]) -> RouteCandidate:
    return RouteCandidate(position=int(d["position"]), route=_route(d["route"]), score=d["score"],
                          criterion=d.get("criterion"))


def word_from_dict(d: dict[str, Any]) -> WordResult:
    emb = d["embedding"]
    embedding = EmbeddingPattern(
        steps=[EmbeddingStep(**s) for s in emb["steps"]],
        influence=emb["influence"],
        method=emb.get("method", "gpr"),
    )
    attention = None
    if d.get("attention") is not None:
        att = d["attention"]
        attention = AttentionPattern(
            steps=[
                AttentionStep(
                    layer=s["layer"],
                    source_positions=list(s["source_positions"]),
                    chosen=[_candidate(c) for c in s["chosen"]],
                    candidates=[_candidate(c) for c in s["candidates"]],
                )
                for s in att["steps"]
            ],
            influence=att["influence"],
            method=att.get("method", "gpr"),
        )
    return WordResult(
        position=d["position"],
        token=d["token"],
        total_influence=d["total_influence"],
        sign=d["sign"],
        embedding=embedding,
        attention=attention,
    )
