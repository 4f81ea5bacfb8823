"""What every baseline shares: given the nodes a baseline picked, score them exactly as
GPR does (docs/method.md §3), so a baseline's ``I(x, π)`` and concentration compare with GPR's.

A baseline only decides *which* node to keep per layer (its own criterion); the
influence of the resulting pattern is then computed by the same restricted sweeps as
:func:`ipyinfluence.gpr.embedding_level` / :func:`~ipyinfluence.gpr.attention_level`:
the tangent is pushed through the pattern's prefix, the gradient pulled back through its
suffix, and ``scores[l][e]`` is the influence of ``[prefix, node e at layer l, q]``.
The results are the same batched tensor types as GPR's, with the criterion added (what the method maximised: ``chosen`` is its top ``k``), so
:func:`ipyinfluence.explain.to_word_results` turns them into drawable WordResults.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..gpr import AttentionLevel, EmbeddingLevel, Prepared, attention_level, causal_candidates, embedding_level, \
    source_tangent
from ..model import InfluenceModel
from ..quadrature import mean_dot
from ..selection import pick, position_masks, valid_routes


@dataclass
class MethodEmbeddingLevel(EmbeddingLevel):
    """:class:`~ipyinfluence.gpr.EmbeddingLevel` plus the method's own criterion.

    ``scores`` and ``influence`` are pattern influences computed as GPR computes them;
    ``criterion[l]`` (W, N) is what the method ranked positions by at layer ``l``
    (attention log-weights, conductance, internal influence or random draws) and
    ``criterion_sign`` (W,) the factor it ranked them with (σ_i, or +1 when the sign plays
    no part): ``chosen[l]`` are the ``top_k`` of ``criterion_sign·criterion[l]``, ties to the
    lowest position.
    """

    criterion: list[torch.Tensor] = None  # always given (a default only because the base has one)
    criterion_sign: torch.Tensor | None = None  # None: +1


@dataclass
class MethodAttentionLevel(AttentionLevel):
    """:class:`~ipyinfluence.gpr.AttentionLevel` plus ``criterion[l-1]`` (W, N, A+1), same grid
    (nan where a route is not a candidate): ``chosen[l-1]`` are the ``top_k`` of
    ``criterion_sign·criterion[l-1]``, a tie going to the skip (column 0)."""

    criterion: list[torch.Tensor]
    criterion_sign: torch.Tensor | None = None  # None: +1


def totals(model: InfluenceModel, prep: Prepared, sources: torch.Tensor) -> torch.Tensor:
    """``g_i`` for each source (W,): the tangent of ``h^0`` dotted with ``G^0``."""
    t = source_tangent(model, prep, sources)
    return mean_dot(t, prep.grads[0], prep.weights)[torch.arange(sources.numel()), sources]


@torch.no_grad()
def forced_embedding_level(model: InfluenceModel, prep: Prepared, sources: torch.Tensor,
                           chosen: list[torch.Tensor], criterion: list[torch.Tensor],
                           criterion_sign: torch.Tensor | None = None) -> MethodEmbeddingLevel:
    """GPR's embedding-level sweep with the choice at layers ``1..L`` given (each (W, k)).

    ``scores[l][e]`` is the influence of ``[x_i, h^0_i, chosen^1.., chosen^{l-1}, h^l_e, q]``
    and ``influence`` that of the whole pattern: exactly :func:`gpr.embedding_level`'s
    numbers when ``chosen`` is GPR's own choice.
    """
    if len(chosen) != model.num_layers:
        raise ValueError(f"need a choice for each of the {model.num_layers} layers; got {len(chosen)}.")
    emb = embedding_level(model, prep, sources, forced=list(chosen))
    return MethodEmbeddingLevel(total=emb.total, chosen=emb.chosen, scores=emb.scores, influence=emb.influence,
                                  criterion=criterion, criterion_sign=criterion_sign)


@torch.no_grad()
def forced_attention_level(model: InfluenceModel, prep: Prepared, sources: torch.Tensor, emb: EmbeddingLevel,
                           chosen: list[torch.Tensor], criterion: list[torch.Tensor],
                           criterion_sign: torch.Tensor | None = None) -> MethodAttentionLevel:
    """GPR's attention-level refinement (docs/method.md §4.2) with the routes at layers ``1..L`` given.

    ``chosen[l-1]`` (W, k) indexes the flattened (N, A+1) grid like
    :class:`gpr.AttentionLevel`; each must be a valid route into the embedding-level
    pattern (a head into a kept ``h^l_k``, or the skip where ``h^{l-1}_k`` is kept).
    """
    att = attention_level(model, prep, sources, emb, forced=list(chosen))
    return MethodAttentionLevel(scores=att.scores, chosen=att.chosen, influence=att.influence,
                                  criterion=criterion, criterion_sign=criterion_sign)


def causal_choices(model: InfluenceModel, prep: Prepared, sources: torch.Tensor, node_criteria: list,
                   sign: torch.Tensor, top_k: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per layer 1..L the ``top_k`` of ``σ·criterion`` among the candidates GPR has there (for a
    decoder: the causal ones, :func:`gpr.causal_candidates`), and which of them are candidates."""
    keep = sources.reshape(-1, 1)
    ok = torch.ones_like(keep, dtype=torch.bool)
    chosen, kept = [], [ok]
    for l, c in enumerate(node_criteria[1:], start=1):
        valid = causal_candidates(model, prep, keep, ok, last=l == len(node_criteria) - 1)
        keep = pick(c, sign, top_k, valid)
        ok = torch.ones_like(keep, dtype=torch.bool) if valid is None else valid.gather(1, keep)
        chosen.append(keep)
        kept.append(ok)
    return chosen, kept


def patterns_from_criteria(model: InfluenceModel, prep: Prepared, sources: torch.Tensor, node_criteria: list,
                           route_criteria: list | None, sign: torch.Tensor, top_k: int):
    """Per layer keep the ``top_k`` nodes (then routes) with the largest ``σ·criterion``.

    ``node_criteria[l]`` is (W, N) for layers 0..L; ``route_criteria[l-1]`` (W, N, A+1) for
    layers 1..L, or None for the embedding level only. Influences are computed like GPR's.
    """
    chosen, kept = causal_choices(model, prep, sources, node_criteria, sign, top_k)
    emb = forced_embedding_level(model, prep, sources, chosen, node_criteria, sign)
    if model.causal:  # a decoder's padding of top_k is no node of the pattern (gpr.causal_candidates)
        emb.kept = kept
        emb.influence = (emb.scores[-1].gather(1, emb.chosen[-1]) * kept[-1]).sum(1)
    if route_criteria is None:
        return emb, None
    real = emb.chosen if emb.kept is None else [torch.where(k, c, c[:, :1]) for c, k in zip(emb.chosen, emb.kept)]
    masks = position_masks(real, node_criteria[0].shape[1])  # padding (a decoder's) stands on the first pick
    routes, crit = [], []
    for l, grid in enumerate(route_criteria, start=1):
        valid = valid_routes(masks, l, model.num_heads)
        routes.append(pick(grid, sign, top_k, valid))
        crit.append(torch.where(valid, grid, torch.full_like(grid, float("nan"))))
    return emb, forced_attention_level(model, prep, sources, emb, routes, crit, sign)
