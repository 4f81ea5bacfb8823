"""The attention level (SPEC §4.2) with dense (W, S, N, H) tangents: the plain reference
that :func:`ipyinfluence.gpr.attention_level` (kept positions only) is tested against."""

from __future__ import annotations

import torch

from ipyinfluence.functional import layer_vjp, route_grid, routes_jvp
from ipyinfluence.gpr import AttentionLevel, EmbeddingLevel, Prepared, source_tangent
from ipyinfluence.model import InfluenceModel
from ipyinfluence.selection import pick, position_masks, signs, valid_routes


def dense_restricted_gradients(model: InfluenceModel, prep: Prepared, masks: list[torch.Tensor]) -> list[torch.Tensor]:
    """``w^l = ∂q/∂h^l`` restricted to the embedding-level suffix, dense (W, S, N, H), l = 0..L."""
    enc = model.weights
    w = [None] * (enc.num_layers + 1)
    w[-1] = prep.grads[-1] * masks[-1][:, None, :, None]
    for l in range(enc.num_layers, 0, -1):
        g = layer_vjp(enc.layers[l - 1], prep.forward.layers[l - 1], w[l], enc.num_heads)
        w[l - 1] = g * masks[l - 1][:, None, :, None]
    return w


def attention_level_dense(model: InfluenceModel, prep: Prepared, sources: torch.Tensor, emb: EmbeddingLevel,
                          top_k: int = 1, sign: torch.Tensor | None = None) -> AttentionLevel:
    enc = model.weights
    heads = enc.num_heads
    n = prep.forward.hidden[0].shape[1]
    masks = position_masks(emb.chosen, n)
    w = dense_restricted_gradients(model, prep, masks)
    if sign is None:
        sign = signs(emb.total)
    dx = source_tangent(model, prep, sources)
    all_scores, all_chosen = [], []
    for l in range(1, enc.num_layers + 1):
        lw, c = enc.layers[l - 1], prep.forward.layers[l - 1]
        grid, dctx = route_grid(lw, c, dx, w[l], heads, prep.weights)
        valid = valid_routes(masks, l, heads)
        grid = torch.where(valid, grid, torch.full_like(grid, float("nan")))
        keep = pick(grid, sign, top_k, valid)
        sel = torch.zeros_like(valid).flatten(1).scatter_(1, keep, True).reshape_as(valid) & valid
        dx = routes_jvp(lw, c, dx, dctx, sel)
        all_scores.append(grid)
        all_chosen.append(keep)
    last = all_scores[-1].flatten(1).gather(1, all_chosen[-1])
    return AttentionLevel(scores=all_scores, chosen=all_chosen, influence=torch.nan_to_num(last).sum(1))
