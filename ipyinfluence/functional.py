"""The decomposed forward of SPEC §1 and its hand-written linearisations.

The primal pass runs once per integration step α and caches what the linear maps need
(attention probabilities, LayerNorm statistics, the activation's derivative). Tangents
(forward mode) and cotangents (reverse mode) then carry a leading *word* axis and
broadcast against that cache, so a sweep over W words costs about one forward over
W × steps rows, as SPEC §9 plans: the primal is never recomputed per word.

Shapes: primal ``(S, N, H)``; tangents ``(W, S, N, H)``; heads split as ``(…, A, N, d)``.
The rules are checked against ``torch.autograd`` in ``tests/test_functional.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .architectures import EmbeddingWeights, EncoderWeights, LayerWeights
from .quadrature import path_mean


@dataclass
class NormCache:
    xhat: torch.Tensor  # (…, N, H) normalised input
    rstd: torch.Tensor  # (…, N, 1)
    weight: torch.Tensor  # (H,)


@dataclass
class LayerCache:
    q: torch.Tensor  # (S, A, N, d)
    k: torch.Tensor
    v: torch.Tensor
    probs: torch.Tensor  # (S, A, N, N), rows = queries
    ln1: NormCache
    act_grad: torch.Tensor  # (S, N, I) activation derivative at the FFN pre-activation
    ln2: NormCache


@dataclass
class EmbeddingCache:
    ln: NormCache


@dataclass
class Forward:
    """Primal activations over the step batch: ``hidden[l]`` is ``h^l`` (S, N, H)."""

    hidden: list[torch.Tensor]
    layers: list[LayerCache]
    embedding: EmbeddingCache | None


# -- small pieces -------------------------------------------------------------

def _norm_cache(z: torch.Tensor, weight: torch.Tensor, eps: float) -> NormCache:
    z = z.detach()
    mu = z.mean(-1, keepdim=True)
    var = z.var(-1, keepdim=True, unbiased=False)
    rstd = torch.rsqrt(var + eps)
    return NormCache(xhat=(z - mu) * rstd, rstd=rstd, weight=weight.detach())


def norm_jvp(dz: torch.Tensor, c: NormCache) -> torch.Tensor:
    """Tangent of LayerNorm: ``γ·rstd·(dz − mean(dz) − x̂·mean(x̂·dz))``."""
    inner = dz - dz.mean(-1, keepdim=True) - c.xhat * (c.xhat * dz).mean(-1, keepdim=True)
    return c.weight * c.rstd * inner


def norm_vjp(gy: torch.Tensor, c: NormCache) -> torch.Tensor:
    """Cotangent of LayerNorm (its Jacobian before γ is symmetric)."""
    g = gy * c.weight
    return c.rstd * (g - g.mean(-1, keepdim=True) - c.xhat * (c.xhat * g).mean(-1, keepdim=True))


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(…, N, H) -> (…, A, N, d)."""
    *lead, n, h = x.shape
    return x.reshape(*lead, n, heads, h // heads).transpose(-3, -2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(…, A, N, d) -> (…, N, H)."""
    *lead, a, n, d = x.shape
    return x.transpose(-3, -2).reshape(*lead, n, a * d)


def activation_derivative(act, p: torch.Tensor) -> torch.Tensor:
    """Elementwise derivative of an elementwise activation, by autograd (any HF ACT2FN)."""
    with torch.enable_grad():
        x = p.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(act(x).sum(), x)
    return grad


# -- primal -------------------------------------------------------------------

def embed(w: EmbeddingWeights, word_vectors: torch.Tensor, token_type_ids: torch.Tensor | None = None,
          cache: bool = False) -> tuple[torch.Tensor, EmbeddingCache | None]:
    """``h^0`` from word vectors ``(S, N, E)`` (the DoI interpolates only these)."""
    n = word_vectors.shape[-2]
    z = word_vectors + w.position[w.position_offset: w.position_offset + n]
    if w.token_type is not None:
        if token_type_ids is None:
            z = z + w.token_type[0]
        else:
            z = z + w.token_type[token_type_ids]
    h = F.layer_norm(z, (z.shape[-1],), w.ln_weight, w.ln_bias, w.ln_eps)
    if w.project is not None:
        h = w.project(h)
    return h, (EmbeddingCache(_norm_cache(z, w.ln_weight, w.ln_eps)) if cache else None)


def layer_forward(w: LayerWeights, x: torch.Tensor, heads: int, cache: bool = False,
                  head_mask: torch.Tensor | None = None, skip_mask: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, LayerCache | None]:
    """One transformer layer with explicit attention (forward AD cannot enter SDPA on CPU).

    ``head_mask`` (N, A) zeroes head context vectors before ``W_O`` (so ``b_O`` is still
    added) and ``skip_mask`` (N,) leaves skip inputs out of the residual sum: the
    ablation of SPEC §6. Without masks it is the plain layer.
    """
    d = x.shape[-1] // heads
    q = split_heads(F.linear(x, w.wq, w.bq), heads)
    k = split_heads(F.linear(x, w.wk, w.bk), heads)
    v = split_heads(F.linear(x, w.wv, w.bv), heads)
    probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1)
    ctx = probs @ v
    if head_mask is not None:
        ctx = ctx * head_mask.transpose(0, 1).unsqueeze(-1).to(x.dtype)  # (…, A, N, d)
    skip = x if skip_mask is None else x * skip_mask.unsqueeze(-1).to(x.dtype)
    z = skip + F.linear(merge_heads(ctx), w.wo, w.bo)
    u = F.layer_norm(z, (z.shape[-1],), w.ln1_weight, w.ln1_bias, w.ln1_eps)
    p = F.linear(u, w.w1, w.b1)
    y = u + F.linear(w.activation(p), w.w2, w.b2)
    h = F.layer_norm(y, (y.shape[-1],), w.ln2_weight, w.ln2_bias, w.ln2_eps)
    if not cache:
        return h, None
    c = LayerCache(
        q=q.detach(), k=k.detach(), v=v.detach(), probs=probs.detach(),
        ln1=_norm_cache(z, w.ln1_weight, w.ln1_eps),
        act_grad=activation_derivative(w.activation, p),
        ln2=_norm_cache(y, w.ln2_weight, w.ln2_eps),
    )
    return h, c


def encoder_forward(enc: EncoderWeights, word_vectors: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                    cache: bool = False) -> Forward:
    """All of ``h^0..h^L``; differentiable, so autograd gives ``∂q/∂h^l`` for every l at once."""
    h, ec = embed(enc.embeddings, word_vectors, token_type_ids, cache)
    hidden = [h]
    caches = []
    for lw in enc.layers:
        h, c = layer_forward(lw, h, enc.num_heads, cache)
        hidden.append(h)
        if cache:
            caches.append(c)
    return Forward(hidden=hidden, layers=caches, embedding=ec)


# -- forward mode ---------------------------------------------------------------

def embed_jvp(w: EmbeddingWeights, c: EmbeddingCache, dword: torch.Tensor) -> torch.Tensor:
    """Tangent of ``h^0`` for a tangent of the word vectors (position-wise)."""
    dh = norm_jvp(dword, c.ln)
    if w.project is not None:
        dh = F.linear(dh, w.project.weight)
    return dh


def post_attention_jvp(w: LayerWeights, c: LayerCache, dz: torch.Tensor) -> torch.Tensor:
    """Tangent of ``h^l`` from a tangent of the pre-LN1 sum ``z`` (LN1, FFN + residual, LN2)."""
    du = norm_jvp(dz, c.ln1)
    dy = du + F.linear(F.linear(du, w.w1) * c.act_grad, w.w2)
    return norm_jvp(dy, c.ln2)


def post_attention_vjp(w: LayerWeights, c: LayerCache, gh: torch.Tensor) -> torch.Tensor:
    """Cotangent of ``z`` from a cotangent of ``h^l``."""
    gy = norm_vjp(gh, c.ln2)
    gu = gy + F.linear(F.linear(gy, w.w2.t()) * c.act_grad, w.w1.t())
    return norm_vjp(gu, c.ln1)


def head_context_jvp(w: LayerWeights, c: LayerCache, dx: torch.Tensor, heads: int) -> torch.Tensor:
    """Tangent of every head's context vector ``a^l_{k,h}`` (W, S, A, N, d).

    Queries and keys move with the input: the attention weights are not frozen.
    """
    d = dx.shape[-1] // heads
    dq = split_heads(F.linear(dx, w.wq), heads)
    dk = split_heads(F.linear(dx, w.wk), heads)
    dv = split_heads(F.linear(dx, w.wv), heads)
    dscores = (dq @ c.k.transpose(-1, -2) + c.q @ dk.transpose(-1, -2)) / math.sqrt(d)
    dprobs = c.probs * (dscores - (c.probs * dscores).sum(-1, keepdim=True))
    return dprobs @ c.v + c.probs @ dv


def head_output(w: LayerWeights, dctx: torch.Tensor) -> torch.Tensor:
    """Per-head contribution to ``z``: ``W_O[:, head] · a_h`` (W, S, A, N, H)."""
    a, d = dctx.shape[-3], dctx.shape[-1]
    wo = w.wo.reshape(w.wo.shape[0], a, d)  # (H, A, d)
    return torch.einsum("...and,had->...anh", dctx, wo)


def layer_jvp(w: LayerWeights, c: LayerCache, dx: torch.Tensor, heads: int) -> torch.Tensor:
    """Tangent of ``h^l`` for a tangent of ``h^{l-1}`` (all routes)."""
    dctx = head_context_jvp(w, c, dx, heads)
    dz = dx + F.linear(merge_heads(dctx), w.wo)
    return post_attention_jvp(w, c, dz)


# -- reverse mode ---------------------------------------------------------------

def embed_vjp(w: EmbeddingWeights, c: EmbeddingCache, gh: torch.Tensor) -> torch.Tensor:
    """Cotangent of the word vectors for a cotangent of ``h^0`` (position-wise)."""
    if w.project is not None:
        gh = F.linear(gh, w.project.weight.t())
    return norm_vjp(gh, c.ln)


def layer_vjp(w: LayerWeights, c: LayerCache, gh: torch.Tensor, heads: int) -> torch.Tensor:
    """Cotangent of ``h^{l-1}`` for a cotangent of ``h^l`` (all routes)."""
    d = gh.shape[-1] // heads
    gz = post_attention_vjp(w, c, gh)
    gctx = split_heads(F.linear(gz, w.wo.t()), heads)
    gprobs = gctx @ c.v.transpose(-1, -2)
    gv = c.probs.transpose(-1, -2) @ gctx
    gscores = c.probs * (gprobs - (c.probs * gprobs).sum(-1, keepdim=True)) / math.sqrt(d)
    gq = gscores @ c.k
    gk = gscores.transpose(-1, -2) @ c.q
    return (gz + F.linear(merge_heads(gq), w.wq.t()) + F.linear(merge_heads(gk), w.wk.t())
            + F.linear(merge_heads(gv), w.wv.t()))


# -- routes into h^l: the scores of the attention level ------------------------------

def route_grid(w: LayerWeights, c: LayerCache, dx: torch.Tensor, gh: torch.Tensor, heads: int,
               weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores of every route into every ``h^l_k``: (W, N, A+1), column 0 the skip.

    ``dx`` is a tangent at ``h^{l-1}`` (W, S, N, H) and ``gh`` a cotangent at ``h^l``
    (restricted or not). Head h at query k scores ``mean_α <∂a^l_{k,h}, W_Oᵀ ∂q/∂z_k>``,
    the skip ``mean_α <dx_k, ∂q/∂z_k>``. Also returns the head context tangents
    (W, S, A, N, d), which the caller needs to push the kept routes on.
    """
    gz = post_attention_vjp(w, c, gh)
    dctx = head_context_jvp(w, c, dx, heads)
    return route_scores(w, dx, dctx, gz, heads, weights), dctx


def route_scores(w: LayerWeights, dx_k: torch.Tensor, dctx: torch.Tensor, gz: torch.Tensor, heads: int,
                 weights: torch.Tensor | None = None) -> torch.Tensor:
    """(W, k, A+1) route scores at k query rows from the skip's tangent ``dx_k`` (W, S, k, H),
    the heads' context tangents ``dctx`` (W, S, A, k, d) and ``∂q/∂z`` there ``gz`` (W, S, k, H)."""
    gctx = split_heads(F.linear(gz, w.wo.t()), heads)
    skip = path_mean((dx_k * gz).sum(-1), weights, 1)  # (W, k)
    head = path_mean((dctx * gctx).sum(-1), weights, 1)  # (W, A, k)
    return torch.cat([skip.unsqueeze(-1), head.transpose(1, 2)], dim=-1)


def routes_jvp(w: LayerWeights, c: LayerCache, dx_k: torch.Tensor, dctx: torch.Tensor, keep: torch.Tensor
               ) -> torch.Tensor:
    """Tangent of ``h^l`` carried by the kept routes only: ``keep`` (W, k, A+1) bool, column 0
    the skip (whose tangent is ``dx_k``), 1..A the heads (``dctx``)."""
    heads_kept = keep[..., 1:].transpose(1, 2)[:, None, :, :, None]  # (W, 1, A, k, 1)
    dz = dx_k * keep[..., 0][:, None, :, None] + F.linear(merge_heads(dctx * heads_kept), w.wo)
    return post_attention_jvp(w, c, dz)


# -- the same maps on gathered positions ---------------------------------------------
# A pattern keeps only k positions per layer, so its tangents and cotangents live on those
# positions: gather the primal cache there and the position-wise parts (LayerNorms, FFN)
# cost k rows instead of N. Positions are per word: (W, k).

def at_positions(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """(S, N, …) at per-word positions (W, k) -> (W, S, k, …)."""
    return x[:, idx].transpose(0, 1)


def head_rows(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """(S, A, N, …) at per-word positions (W, k) -> (W, S, A, k, …)."""
    return x[:, :, idx].permute(2, 0, 1, *range(3, x.dim() + 1))


def head_columns(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """(W, S, A, k, N) at per-word columns (W, j) -> (W, S, A, k, j)."""
    w, s, a, k, _ = x.shape
    return torch.gather(x, -1, idx[:, None, None, None, :].expand(w, s, a, k, idx.shape[1]))


def post_attention_cache_at(c: LayerCache, idx: torch.Tensor) -> LayerCache:
    """The position-wise part of a layer's cache (LN1, FFN, LN2) at per-word positions."""
    def norm(nc: NormCache) -> NormCache:
        return NormCache(xhat=at_positions(nc.xhat, idx), rstd=at_positions(nc.rstd, idx), weight=nc.weight)

    return LayerCache(q=None, k=None, v=None, probs=None, ln1=norm(c.ln1), act_grad=at_positions(c.act_grad, idx),
                      ln2=norm(c.ln2))


def same_position(k_pos: torch.Tensor, j_pos: torch.Tensor, dtype) -> torch.Tensor:
    """(W, k, j) with 1 where the two position lists name the same position."""
    return (k_pos[:, :, None] == j_pos[:, None, :]).to(dtype)


def head_context_jvp_at(w: LayerWeights, c: LayerCache, dx: torch.Tensor, k_pos: torch.Tensor,
                        j_pos: torch.Tensor, heads: int) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`head_context_jvp` for a tangent living on positions ``j_pos`` (W, S, j, H), read
    at query positions ``k_pos``: returns the heads' context tangents (W, S, A, k, d) and the
    skip's tangent at ``k_pos`` (W, S, k, H). Queries move only where ``k == j``; keys and
    values only at the ``j`` columns."""
    d = dx.shape[-1] // heads
    same = same_position(k_pos, j_pos, dx.dtype)  # (W, k, j)
    dq = torch.einsum("wkj,wsajd->wsakd", same, split_heads(F.linear(dx, w.wq), heads))
    dk = split_heads(F.linear(dx, w.wk), heads)  # (W, S, A, j, d)
    dv = split_heads(F.linear(dx, w.wv), heads)
    q_k, probs_k = head_rows(c.q, k_pos), head_rows(c.probs, k_pos)  # (W, S, A, k, ·)
    dscores = dq @ c.k.transpose(-1, -2)
    jcols = j_pos[:, None, None, None, :].expand(*dscores.shape[:-1], j_pos.shape[1])
    dscores = dscores.scatter_add(-1, jcols, q_k @ dk.transpose(-1, -2)) / math.sqrt(d)
    dprobs = probs_k * (dscores - (probs_k * dscores).sum(-1, keepdim=True))
    dctx = dprobs @ c.v + head_columns(probs_k, j_pos) @ dv
    return dctx, torch.einsum("wkj,wsjh->wskh", same, dx)


def layer_vjp_at(w: LayerWeights, c: LayerCache, gh: torch.Tensor, k_pos: torch.Tensor, j_pos: torch.Tensor,
                 heads: int) -> torch.Tensor:
    """:func:`layer_vjp` for a cotangent living on ``k_pos`` (W, S, k, H), read back at the
    input positions ``j_pos``: (W, S, j, H). All routes into the kept ``h^l_k``."""
    d = gh.shape[-1] // heads
    gz = post_attention_vjp(w, post_attention_cache_at(c, k_pos), gh)  # (W, S, k, H)
    gctx = split_heads(F.linear(gz, w.wo.t()), heads)  # (W, S, A, k, d)
    probs_k = head_rows(c.probs, k_pos)  # (W, S, A, k, N)
    gprobs = gctx @ c.v.transpose(-1, -2)
    gscores = probs_k * (gprobs - (probs_k * gprobs).sum(-1, keepdim=True)) / math.sqrt(d)
    same = same_position(k_pos, j_pos, gz.dtype)
    gv = head_columns(probs_k, j_pos).transpose(-1, -2) @ gctx  # values at the kept inputs j
    gk = head_columns(gscores, j_pos).transpose(-1, -2) @ head_rows(c.q, k_pos)  # keys at j
    gq = torch.einsum("wkj,wsakd->wsajd", same, gscores @ c.k)  # queries: only where k == j
    gx = torch.einsum("wkj,wskh->wsjh", same, gz)  # the skip
    return (gx + F.linear(merge_heads(gq), w.wq.t()) + F.linear(merge_heads(gk), w.wk.t())
            + F.linear(merge_heads(gv), w.wv.t()))


# -- the embedding level's scores read through the adjoint -------------------------------
# The part of a layer after the attention (W_O, LN1, FFN, LN2 and the residuals) is
# position-wise, so for every position e  <P_e dz_e, G_e> = <dz_e, gz_e> with
# gz = post_attention_vjp(G^l): shared by every word. A word's score at every position
# then needs its attention tangent only where it is non-zero (the kept rows and columns),
# and the position-wise part runs only at the position(s) kept next.

@dataclass
class KeptRowsTangent:
    """What :func:`kept_rows_scores` found for one layer, reused to push the kept tangent on."""

    ds_cols: torch.Tensor  # (W, S, A, N, k): d scores[e, keep_m], the keys move
    ds_rows: torch.Tensor  # (W, S, A, k, N): d scores[keep_m, j], the queries move
    p_cols: torch.Tensor  # (W, S, A, N, k): P[e, keep_m]
    row_sums: torch.Tensor  # (W, S, A, N): Σ_j P ds at every query row
    dv: torch.Tensor  # (W, S, A, k, d): the values' tangent at the kept rows


def kept_rows_scores(w: LayerWeights, c: LayerCache, rows: torch.Tensor, keep: torch.Tensor, gh: torch.Tensor,
                     heads: int) -> tuple[torch.Tensor, KeptRowsTangent]:
    """Per step ``<T^l_e, G^l_e>`` at every position e (W, S, N), for a tangent of ``h^{l-1}``
    living on the kept rows ``keep`` (W, k) (values ``rows`` (W, S, k, H)) and ``G^l = gh``
    (S, N, H). Equal to the dense tangent (:func:`layer_jvp`) dotted with ``gh`` (tested), at O(N·k) per
    word and head instead of O(N²) and without the N-row FFN."""
    wd, s, k, hsz = rows.shape
    n = c.probs.shape[-1]
    d = hsz // heads
    gz = post_attention_vjp(w, c, gh)  # (S, N, H), shared by every word
    gctx = split_heads(F.linear(gz, w.wo.t()), heads)  # (S, A, N, d)
    m = gctx @ c.v.transpose(-1, -2)  # (S, A, N, N): <gctx_e, v_j>
    pm = c.probs * (m - (c.probs * m).sum(-1, keepdim=True))  # centred per row: no cancellation
    dq = split_heads(F.linear(rows, w.wq), heads)  # (W, S, A, k, d)
    dk = split_heads(F.linear(rows, w.wk), heads)
    dv = split_heads(F.linear(rows, w.wv), heads)
    ds_cols = (c.q @ dk.transpose(-1, -2)) / math.sqrt(d)  # (W, S, A, N, k)
    ds_rows = (dq @ c.k.transpose(-1, -2)) / math.sqrt(d)  # (W, S, A, k, N)
    cols = keep[:, None, None, None, :].expand(wd, s, heads, n, k)
    p_cols = torch.gather(c.probs.expand(wd, -1, -1, -1, -1), -1, cols)
    pm_cols = torch.gather(pm.expand(wd, -1, -1, -1, -1), -1, cols)
    p_rows, pm_rows = head_rows(c.probs, keep), head_rows(pm, keep)  # (W, S, A, k, N)
    row_idx = keep[:, None, None, :].expand(wd, s, heads, k)
    row_sums = (p_cols * ds_cols).sum(-1).scatter_add(-1, row_idx, (p_rows * ds_rows).sum(-1))
    centred = (pm_cols * ds_cols).sum(-1).scatter_add(-1, row_idx, (pm_rows * ds_rows).sum(-1))
    head = centred + (p_cols * (gctx @ dv.transpose(-1, -2))).sum(-1)  # Σ_d dctx·gctx per head
    per_step = head.sum(2).scatter_add(2, keep[:, None, :].expand(-1, s, -1), (rows * at_positions(gz, keep)).sum(-1))
    return per_step, KeptRowsTangent(ds_cols, ds_rows, p_cols, row_sums, dv)


def kept_rows_push(w: LayerWeights, c: LayerCache, rows: torch.Tensor, keep: torch.Tensor, new: torch.Tensor,
                   t: KeptRowsTangent) -> torch.Tensor:
    """The tangent of ``h^l`` at the newly kept positions ``new`` (W, k') only: (W, S, k', H)."""
    wd, s, k, _ = rows.shape
    heads, n = c.probs.shape[1], c.probs.shape[-1]
    k2 = new.shape[1]
    same = (new[:, :, None] == keep[:, None, :]).to(rows.dtype)  # (W, k', k)
    ds_new = torch.zeros(wd, s, heads, k2, n, dtype=rows.dtype, device=rows.device)
    ds_new.scatter_(-1, keep[:, None, None, None, :].expand(wd, s, heads, k2, k),
                    torch.gather(t.ds_cols, 3, new[:, None, None, :, None].expand(wd, s, heads, k2, k)))
    ds_new = ds_new + torch.einsum("wij,wsajn->wsain", same, t.ds_rows)
    p_new = head_rows(c.probs, new)  # (W, S, A, k', N)
    sums = torch.gather(t.row_sums, -1, new[:, None, None, :].expand(wd, s, heads, k2))
    p_new_cols = torch.gather(t.p_cols, 3, new[:, None, None, :, None].expand(wd, s, heads, k2, k))
    dctx = (p_new * (ds_new - sums[..., None])) @ c.v + p_new_cols @ t.dv  # (W, S, A, k', d)
    dz = F.linear(merge_heads(dctx), w.wo) + torch.einsum("wij,wsjh->wsih", same, rows)
    return post_attention_jvp(w, post_attention_cache_at(c, new), dz)
