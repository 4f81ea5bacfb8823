"""Guided Pattern Refinement (SPEC §4), batched over source words × integration steps.

Cost (SPEC §4.1 cost model): one primal forward and one backward over the step batch,
shared by all words (:func:`prepare`); then per chunk of words one forward-mode sweep
for the embedding level and, for the attention level, one restricted reverse sweep plus
one forward sweep. Every sweep carries the word axis in front of the cached primal, so
no candidate node ever gets a pass of its own and no Python loop runs over candidates.

Tensors here keep a leading word axis ``W``; scores are ``mean_α`` of per-step dot
products (the mean of the products, not the product of the means).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .functional import (
    Forward,
    LayerCache,
    NormCache,
    embed_jvp,
    head_context_jvp,
    layer_jvp_rows,
    layer_vjp,
    merge_heads,
    post_attention_jvp,
    post_attention_vjp,
    split_heads,
)
from .integration import interpolate
from .model import InfluenceModel


@dataclass
class Prepared:
    """What every word shares: the primal over the α batch and ``G^l = ∂q/∂h^l``."""

    alphas: torch.Tensor  # (S,)
    forward: Forward  # primal caches, no autograd graph
    grads: list[torch.Tensor]  # G^0..G^L, each (S, N, H)
    q: torch.Tensor  # (S,) QoI along the path; q[0] = q(b), q[-1] = q(x)
    directions: torch.Tensor  # x − b, (N, E)


def prepare(model: InfluenceModel, x: torch.Tensor, b: torch.Tensor, qoi, alpha: torch.Tensor) -> Prepared:
    """One forward and one backward over the ``steps`` batch (SPEC §4.1)."""
    with torch.enable_grad():
        e = interpolate(x, b, alpha).detach().requires_grad_(True)
        fwd = model.forward(e, cache=True)
        q = qoi(model.outputs(fwd.hidden[-1]))
        grads = torch.autograd.grad(q.sum(), fwd.hidden)
    fwd.hidden = [h.detach() for h in fwd.hidden]
    return Prepared(alpha, fwd, [g.detach() for g in grads], q.detach(), (x - b).detach())


def _mean_dot(t: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``mean_α <t, g>`` over the hidden axis: (W, S, N, H) × (S, N, H) -> (W, N)."""
    return (t * g).sum(-1).mean(1)


def _keep_top(signed: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` largest values per row, ties to the lowest index."""
    order = torch.sort(signed, dim=-1, descending=True, stable=True).indices
    return order[..., :k]


def source_tangent(model: InfluenceModel, prep: Prepared, sources: torch.Tensor) -> torch.Tensor:
    """Tangent of ``h^0`` for the direction ``x_i − b_i`` at each source i: (W, S, N, H)."""
    w = sources.numel()
    s, n, _ = prep.forward.hidden[0].shape
    dword = torch.zeros(w, s, n, prep.directions.shape[-1], dtype=prep.directions.dtype,
                        device=prep.directions.device)
    dword[torch.arange(w), :, sources] = prep.directions[sources].unsqueeze(1)
    return embed_jvp(model.weights.embeddings, prep.forward.embedding, dword)


@dataclass
class EmbeddingLevel:
    """Batched embedding-level result: ``chosen[l]`` (W, k) positions, ``scores[l]`` (W, N)."""

    total: torch.Tensor  # g_i (W,)
    chosen: list[torch.Tensor]  # layers 0..L
    scores: list[torch.Tensor]  # layers 0..L
    influence: torch.Tensor  # (W,)


def embedding_level(model: InfluenceModel, prep: Prepared, sources: torch.Tensor, top_k: int = 1,
                    sign: torch.Tensor | None = None, forced: list[torch.Tensor] | None = None) -> EmbeddingLevel:
    """SPEC §4.1: push the tangent layer by layer, keep ``argmax_e σ·score(e)``.

    ``forced`` (one (W, k) tensor per layer 1..L) replaces the greedy choice: the baselines
    use it so their pattern influences are computed by exactly this sweep.
    """
    enc = model.weights
    t = source_tangent(model, prep, sources)
    n = t.shape[2]
    s0 = _mean_dot(t, prep.grads[0])
    total = s0[torch.arange(sources.numel()), sources]
    if sign is None:
        sign = torch.where(total >= 0, 1.0, -1.0).to(total.dtype)
    chosen, scores = [sources.reshape(-1, 1)], [s0]
    for l, (lw, c) in enumerate(zip(enc.layers, prep.forward.layers), start=1):
        # the tangent lives on the kept positions only: gather them, push them through the layer
        keep = chosen[-1]
        rows = t.gather(2, keep[:, None, :, None].expand(-1, t.shape[1], -1, t.shape[3]))
        t = layer_jvp_rows(lw, c, rows, keep, enc.num_heads, n)
        sc = _mean_dot(t, prep.grads[l])
        chosen.append(forced[l - 1] if forced is not None else _keep_top(sign[:, None] * sc, top_k))
        scores.append(sc)
    influence = scores[-1].gather(1, chosen[-1]).sum(1)
    return EmbeddingLevel(total=total, chosen=chosen, scores=scores, influence=influence)


def position_masks(chosen: list[torch.Tensor], n: int) -> list[torch.Tensor]:
    """Per layer a (W, N) bool mask of the kept positions."""
    return [torch.zeros(c.shape[0], n, dtype=torch.bool, device=c.device).scatter_(1, c, True) for c in chosen]


def restricted_gradients(model: InfluenceModel, prep: Prepared, masks: list[torch.Tensor]) -> list[torch.Tensor]:
    """``w^l = ∂q/∂h^l`` restricted to the embedding-level suffix (SPEC §4.2), l = 0..L.

    One reverse sweep, batched over words: start from ``G^L`` at the kept node(s) and
    pull back through each layer keeping only the pattern's positions.
    """
    enc = model.weights
    num_layers = enc.num_layers
    w = [None] * (num_layers + 1)
    w[num_layers] = prep.grads[num_layers] * masks[num_layers][:, None, :, None]
    for l in range(num_layers, 0, -1):
        g = layer_vjp(enc.layers[l - 1], prep.forward.layers[l - 1], w[l], enc.num_heads)
        w[l - 1] = g * masks[l - 1][:, None, :, None]
    return w


@dataclass
class AttentionLevel:
    """Batched attention-level result.

    ``scores[l-1]`` (W, N, A+1): column 0 the skip route, 1..A the heads, for every query
    position (nan where the route is not a candidate). ``chosen[l-1]`` (W, k) indexes the
    flattened (N, A+1) grid: position = idx // (A+1), route = idx % (A+1) (0 = skip).
    """

    scores: list[torch.Tensor]
    chosen: list[torch.Tensor]
    influence: torch.Tensor  # (W,)


def attention_level_dense(model: InfluenceModel, prep: Prepared, sources: torch.Tensor, emb: EmbeddingLevel,
                          top_k: int = 1, sign: torch.Tensor | None = None) -> AttentionLevel:
    """SPEC §4.2 with dense (W, S, N, H) tangents: the plain reference for :func:`attention_level`."""
    enc = model.weights
    heads = enc.num_heads
    n = prep.forward.hidden[0].shape[1]
    masks = position_masks(emb.chosen, n)
    w = restricted_gradients(model, prep, masks)
    if sign is None:
        sign = torch.where(emb.total >= 0, 1.0, -1.0).to(emb.total.dtype)
    dx = source_tangent(model, prep, sources)
    all_scores, all_chosen = [], []
    for l in range(1, enc.num_layers + 1):
        lw, c = enc.layers[l - 1], prep.forward.layers[l - 1]
        gz = post_attention_vjp(lw, c, w[l])  # ∂q/∂z at the layer's residual sum, restricted downstream
        dctx = head_context_jvp(lw, c, dx, heads)  # (W, S, A, N, d)
        gctx = split_heads(F.linear(gz, lw.wo.t()), heads)
        head_scores = (dctx * gctx).sum(-1).mean(1)  # (W, A, N)
        skip_scores = _mean_dot(dx, gz)  # (W, N)
        grid = torch.cat([skip_scores.unsqueeze(-1), head_scores.transpose(1, 2)], dim=-1)  # (W, N, A+1)
        valid = masks[l].unsqueeze(-1).expand_as(grid).clone()
        valid[..., 0] &= masks[l - 1]  # the skip carries only h^{l-1}_k -> h^l_k
        grid = torch.where(valid, grid, torch.full_like(grid, float("nan")))
        signed = torch.where(valid, sign[:, None, None] * grid, torch.full_like(grid, -float("inf")))
        keep = _keep_top(signed.flatten(1), top_k)
        sel = torch.zeros_like(valid).flatten(1).scatter_(1, keep, True).reshape_as(valid) & valid
        # The refined tangent at h^l: only the kept routes' contributions, pushed through the layer.
        sel_heads = sel[..., 1:].transpose(1, 2)[:, None, :, :, None]  # (W, 1, A, N, 1)
        dz = dx * sel[..., 0][:, None, :, None] + F.linear(merge_heads(dctx * sel_heads), lw.wo)
        dx = post_attention_jvp(lw, c, dz)
        all_scores.append(grid)
        all_chosen.append(keep)
    last = all_scores[-1].flatten(1).gather(1, all_chosen[-1])
    return AttentionLevel(scores=all_scores, chosen=all_chosen, influence=torch.nan_to_num(last).sum(1))


# -- the attention level on gathered positions -------------------------------------
# The pattern keeps only k positions per layer, so every tangent and cotangent of the
# attention level lives on those positions: gather the primal cache there and the
# position-wise parts (LayerNorms, FFN) cost k rows instead of N.

def _at(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """(S, N, …) at per-word positions (W, k) -> (W, S, k, …)."""
    return x[:, idx].transpose(0, 1)


def _rows(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """(S, A, N, …) at per-word positions (W, k) -> (W, S, A, k, …)."""
    return x[:, :, idx].permute(2, 0, 1, *range(3, x.dim() + 1))


def _cols(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """(W, S, A, k, N) at per-word columns (W, j) -> (W, S, A, k, j)."""
    w, s, a, k, _ = x.shape
    return torch.gather(x, -1, idx[:, None, None, None, :].expand(w, s, a, k, idx.shape[1]))


def _post_cache(c: LayerCache, idx: torch.Tensor) -> LayerCache:
    def norm(nc: NormCache) -> NormCache:
        return NormCache(xhat=_at(nc.xhat, idx), rstd=_at(nc.rstd, idx), weight=nc.weight)

    return LayerCache(q=None, k=None, v=None, probs=None, ln1=norm(c.ln1), act_grad=_at(c.act_grad, idx),
                      ln2=norm(c.ln2))


def _same(k_pos: torch.Tensor, j_pos: torch.Tensor, dtype) -> torch.Tensor:
    """(W, k, j) with 1 where the two position lists name the same position."""
    return (k_pos[:, :, None] == j_pos[:, None, :]).to(dtype)


def restricted_gradients_sparse(model: InfluenceModel, prep: Prepared, pos: list[torch.Tensor]) -> list[torch.Tensor]:
    """:func:`restricted_gradients` on the kept positions only: ``w[l]`` is (W, S, k_l, H) at ``pos[l]``."""
    enc = model.weights
    heads, num_layers = enc.num_heads, enc.num_layers
    w = [None] * (num_layers + 1)
    w[num_layers] = _at(prep.grads[num_layers], pos[num_layers])
    for l in range(num_layers, 0, -1):
        lw, c = enc.layers[l - 1], prep.forward.layers[l - 1]
        kp, jp = pos[l], pos[l - 1]
        d = enc.head_size
        gz = post_attention_vjp(lw, _post_cache(c, kp), w[l])  # (W, S, k, H)
        gctx = split_heads(F.linear(gz, lw.wo.t()), heads)  # (W, S, A, k, d)
        probs_k = _rows(c.probs, kp)  # (W, S, A, k, N)
        gprobs = gctx @ c.v.transpose(-1, -2)
        gscores = probs_k * (gprobs - (probs_k * gprobs).sum(-1, keepdim=True)) / math.sqrt(d)
        same = _same(kp, jp, gz.dtype)
        gv = _cols(probs_k, jp).transpose(-1, -2) @ gctx  # values at the kept inputs j
        gk = _cols(gscores, jp).transpose(-1, -2) @ _rows(c.q, kp)  # keys at j
        gq = torch.einsum("wkj,wsakd->wsajd", same, gscores @ c.k)  # queries: only where k == j
        gx = torch.einsum("wkj,wskh->wsjh", same, gz)  # the skip
        w[l - 1] = (gx + F.linear(merge_heads(gq), lw.wq.t()) + F.linear(merge_heads(gk), lw.wk.t())
                    + F.linear(merge_heads(gv), lw.wv.t()))
    return w


def attention_level(model: InfluenceModel, prep: Prepared, sources: torch.Tensor, emb: EmbeddingLevel,
                    top_k: int = 1, sign: torch.Tensor | None = None) -> AttentionLevel:
    """SPEC §4.2: refine the embedding-level pattern into heads and skips, bottom-up.

    Same result as :func:`attention_level_dense` (tested), computed on the kept positions.
    """
    enc = model.weights
    heads, d = enc.num_heads, enc.head_size
    n = prep.forward.hidden[0].shape[1]
    w_words = sources.numel()
    pos = [torch.sort(c, dim=1).values for c in emb.chosen]  # position order: ties go to the lowest position
    w = restricted_gradients_sparse(model, prep, pos)
    if sign is None:
        sign = torch.where(emb.total >= 0, 1.0, -1.0).to(emb.total.dtype)
    rows = torch.arange(w_words, device=sources.device)[:, None]
    dx = source_tangent(model, prep, sources)[rows, :, pos[0]].transpose(1, 2)  # (W, S, 1, H) at the source
    all_scores, all_chosen = [], []
    for l in range(1, enc.num_layers + 1):
        lw, c = enc.layers[l - 1], prep.forward.layers[l - 1]
        kp, jp = pos[l], pos[l - 1]
        same = _same(kp, jp, dx.dtype)  # (W, k, j)
        dq = torch.einsum("wkj,wsajd->wsakd", same, split_heads(F.linear(dx, lw.wq), heads))
        dk = split_heads(F.linear(dx, lw.wk), heads)  # (W, S, A, j, d)
        dv = split_heads(F.linear(dx, lw.wv), heads)
        q_k, probs_k = _rows(c.q, kp), _rows(c.probs, kp)  # (W, S, A, k, ·)
        dscores = dq @ c.k.transpose(-1, -2)  # query moves (k == j only)
        jcols = jp[:, None, None, None, :].expand(*dscores.shape[:-1], jp.shape[1])
        dscores = dscores.scatter_add(-1, jcols, q_k @ dk.transpose(-1, -2)) / math.sqrt(d)  # keys move at j
        dprobs = probs_k * (dscores - (probs_k * dscores).sum(-1, keepdim=True))
        dctx = dprobs @ c.v + _cols(probs_k, jp) @ dv  # (W, S, A, k, d)
        pc = _post_cache(c, kp)
        gz = post_attention_vjp(lw, pc, w[l])  # (W, S, k, H)
        gctx = split_heads(F.linear(gz, lw.wo.t()), heads)
        dx_k = torch.einsum("wkj,wsjh->wskh", same, dx)  # the skip: the input at the same position
        grid = torch.cat([(dx_k * gz).sum(-1).mean(1).unsqueeze(-1),
                          (dctx * gctx).sum(-1).mean(1).transpose(1, 2)], dim=-1)  # (W, k, A+1)
        valid = torch.ones_like(grid, dtype=torch.bool)
        valid[..., 0] = same.sum(-1) > 0
        signed = torch.where(valid, sign[:, None, None] * grid, torch.full_like(grid, -float("inf")))
        keep = _keep_top(signed.flatten(1), top_k)
        sel = torch.zeros_like(valid).flatten(1).scatter_(1, keep, True).reshape_as(valid) & valid
        sel_heads = sel[..., 1:].transpose(1, 2)[:, None, :, :, None]  # (W, 1, A, k, 1)
        dz = dx_k * sel[..., 0][:, None, :, None] + F.linear(merge_heads(dctx * sel_heads), lw.wo)
        dx = post_attention_jvp(lw, pc, dz)
        # back to the dense (W, N, A+1) grid of the result type
        dense = torch.full((w_words, n, heads + 1), float("nan"), dtype=grid.dtype, device=grid.device)
        dense[rows, kp] = torch.where(valid, grid, torch.full_like(grid, float("nan")))
        all_scores.append(dense)
        all_chosen.append(kp.gather(1, keep // (heads + 1)) * (heads + 1) + keep % (heads + 1))
    last = all_scores[-1].flatten(1).gather(1, all_chosen[-1])
    return AttentionLevel(scores=all_scores, chosen=all_chosen, influence=torch.nan_to_num(last).sum(1))
