"""What every baseline shares: given the nodes a baseline picked, score them exactly as
GPR does (SPEC §3), so a baseline's ``I(x, π)`` and concentration compare with GPR's.

A baseline only decides *which* node to keep per layer (its own criterion); the
influence of the resulting pattern is then computed by the same restricted sweeps as
:func:`ipyinfluence.gpr.embedding_level` / :func:`~ipyinfluence.gpr.attention_level`:
the tangent is pushed through the pattern's prefix, the gradient pulled back through its
suffix, and ``scores[l][e]`` is the influence of ``[prefix, node e at layer l, q]``.
The results are the same batched tensor types as GPR's, with the criterion added, so
:func:`ipyinfluence.explain.to_word_results` turns them into drawable WordResults.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..architectures import LayerWeights
from ..functional import (
    LayerCache,
    head_context_jvp,
    merge_heads,
    post_attention_jvp,
    post_attention_vjp,
    split_heads,
)
from ..gpr import AttentionLevel, EmbeddingLevel, Prepared, embedding_level, position_masks, restricted_gradients, source_tangent
from ..model import InfluenceModel


@dataclass
class BaselineEmbeddingLevel(EmbeddingLevel):
    """:class:`~ipyinfluence.gpr.EmbeddingLevel` plus the baseline's own criterion.

    ``scores`` and ``influence`` are pattern influences computed as GPR computes them;
    ``criterion[l]`` (W, N) is what the baseline ranked positions by at layer ``l``
    (attention log-weights, conductance, internal influence or random draws).
    """

    criterion: list[torch.Tensor]


@dataclass
class BaselineAttentionLevel(AttentionLevel):
    """:class:`~ipyinfluence.gpr.AttentionLevel` plus ``criterion[l-1]`` (W, N, A+1), same grid."""

    criterion: list[torch.Tensor]


def mean_dot(t: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``mean_α <t, g>`` over the hidden axis: (W, S, N, H) × (…S, N, H) -> (W, N)."""
    return (t * g).sum(-1).mean(1)


def signs(total: torch.Tensor) -> torch.Tensor:
    """``σ_i = sign(g_i)``, +1 when ``g_i == 0`` (SPEC §4)."""
    return torch.where(total >= 0, 1.0, -1.0).to(total.dtype)


def top_k(values: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` largest values along the last axis, ties to the lowest index."""
    return torch.sort(values, dim=-1, descending=True, stable=True).indices[..., :k]


def totals(model: InfluenceModel, prep: Prepared, sources: torch.Tensor) -> torch.Tensor:
    """``g_i`` for each source (W,): the tangent of ``h^0`` dotted with ``G^0``."""
    t = source_tangent(model, prep, sources)
    return mean_dot(t, prep.grads[0])[torch.arange(sources.numel()), sources]


def route_grid(lw: LayerWeights, c: LayerCache, dx: torch.Tensor, w_l: torch.Tensor, heads: int
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores of every route into every ``h^l_k``: (W, N, A+1), column 0 the skip.

    ``dx`` is the tangent at ``h^{l-1}`` (W, S, N, H) and ``w_l`` the gradient at ``h^l``
    (restricted or not). Head h at query k scores ``mean_α <∂a^l_{k,h}, W_Oᵀ ∂q/∂z_k>``,
    the skip ``mean_α <dx_k, ∂q/∂z_k>``. Also returns the head context tangents.
    """
    gz = post_attention_vjp(lw, c, w_l)
    dctx = head_context_jvp(lw, c, dx, heads)  # (W, S, A, N, d)
    gctx = split_heads(F.linear(gz, lw.wo.t()), heads)
    head_scores = (dctx * gctx).sum(-1).mean(1)  # (W, A, N)
    skip_scores = mean_dot(dx, gz)  # (W, N)
    return torch.cat([skip_scores.unsqueeze(-1), head_scores.transpose(1, 2)], dim=-1), dctx


def valid_routes(masks: list[torch.Tensor], l: int, heads: int) -> torch.Tensor:
    """(W, N, A+1) bool: routes that are candidates at layer ``l`` (as GPR's, SPEC §4.2).

    Any head into a kept position ``h^l_k``; the skip only where ``h^{l-1}_k`` is kept too.
    """
    valid = masks[l].unsqueeze(-1).expand(*masks[l].shape, heads + 1).clone()
    valid[..., 0] &= masks[l - 1]
    return valid


def pick(criterion: torch.Tensor, sign: torch.Tensor, k: int, valid: torch.Tensor | None = None) -> torch.Tensor:
    """``top_k`` of ``σ·criterion`` over the flattened trailing axes, invalid cells excluded."""
    signed = sign.reshape(-1, *([1] * (criterion.dim() - 1))) * criterion
    if valid is not None:
        signed = torch.where(valid, signed, torch.full_like(signed, -float("inf")))
    return top_k(signed.flatten(1), k)


@torch.no_grad()
def forced_embedding_level(model: InfluenceModel, prep: Prepared, sources: torch.Tensor,
                           chosen: list[torch.Tensor], criterion: list[torch.Tensor]) -> BaselineEmbeddingLevel:
    """GPR's embedding-level sweep with the choice at layers ``1..L`` given (each (W, k)).

    ``scores[l][e]`` is the influence of ``[x_i, h^0_i, chosen^1.., chosen^{l-1}, h^l_e, q]``
    and ``influence`` that of the whole pattern: exactly :func:`gpr.embedding_level`'s
    numbers when ``chosen`` is GPR's own choice.
    """
    if len(chosen) != model.num_layers:
        raise ValueError(f"need a choice for each of the {model.num_layers} layers; got {len(chosen)}.")
    emb = embedding_level(model, prep, sources, forced=list(chosen))
    total, all_chosen, scores, influence = emb.total, emb.chosen, emb.scores, emb.influence
    return BaselineEmbeddingLevel(total=total, chosen=all_chosen, scores=scores, influence=influence,
                                  criterion=criterion)


@torch.no_grad()
def forced_attention_level(model: InfluenceModel, prep: Prepared, sources: torch.Tensor, emb: EmbeddingLevel,
                           chosen: list[torch.Tensor], criterion: list[torch.Tensor]) -> BaselineAttentionLevel:
    """GPR's attention-level refinement (SPEC §4.2) with the routes at layers ``1..L`` given.

    ``chosen[l-1]`` (W, k) indexes the flattened (N, A+1) grid like
    :class:`gpr.AttentionLevel`; each must be a valid route into the embedding-level
    pattern (a head into a kept ``h^l_k``, or the skip where ``h^{l-1}_k`` is kept).
    """
    enc = model.weights
    heads = enc.num_heads
    n = prep.forward.hidden[0].shape[1]
    masks = position_masks(emb.chosen, n)
    w = restricted_gradients(model, prep, masks)
    dx = source_tangent(model, prep, sources)
    all_scores = []
    for l in range(1, enc.num_layers + 1):
        lw, c = enc.layers[l - 1], prep.forward.layers[l - 1]
        grid, dctx = route_grid(lw, c, dx, w[l], heads)
        valid = valid_routes(masks, l, heads)
        sel = torch.zeros_like(valid).flatten(1).scatter_(1, chosen[l - 1], True).reshape_as(valid)
        if bool((sel & ~valid).any()):
            raise ValueError(f"layer {l}: a forced route is not a route into the embedding-level pattern.")
        grid = torch.where(valid, grid, torch.full_like(grid, float("nan")))
        sel_heads = sel[..., 1:].transpose(1, 2)[:, None, :, :, None]  # (W, 1, A, N, 1)
        dz = dx * sel[..., 0][:, None, :, None] + F.linear(merge_heads(dctx * sel_heads), lw.wo)
        dx = post_attention_jvp(lw, c, dz)
        all_scores.append(grid)
    last = all_scores[-1].flatten(1).gather(1, chosen[-1])
    return BaselineAttentionLevel(scores=all_scores, chosen=list(chosen), influence=torch.nan_to_num(last).sum(1),
                                  criterion=criterion)


def patterns_from_criteria(model: InfluenceModel, prep: Prepared, sources: torch.Tensor, node_criteria: list,
                           route_criteria: list | None, sign: torch.Tensor, top_k: int):
    """Per layer keep the ``top_k`` nodes (then routes) with the largest ``σ·criterion``.

    ``node_criteria[l]`` is (W, N) for layers 0..L; ``route_criteria[l-1]`` (W, N, A+1) for
    layers 1..L, or None for the embedding level only. Influences are computed like GPR's.
    """
    chosen = [pick(c, sign, top_k) for c in node_criteria[1:]]
    emb = forced_embedding_level(model, prep, sources, chosen, node_criteria)
    if route_criteria is None:
        return emb, None
    masks = position_masks(emb.chosen, node_criteria[0].shape[1])
    routes, crit = [], []
    for l, grid in enumerate(route_criteria, start=1):
        valid = valid_routes(masks, l, model.num_heads)
        routes.append(pick(grid, sign, top_k, valid))
        crit.append(torch.where(valid, grid, torch.full_like(grid, float("nan"))))
    return emb, forced_attention_level(model, prep, sources, emb, routes, crit)
