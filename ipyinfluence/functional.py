"""The decomposed forward of SPEC §1 / §10 and the sweeps' linear maps, for any block.

The primal pass runs once per integration step α and caches what the linear maps need
(attention probabilities, norm statistics, the activation's derivative). Tangents
(forward mode) and cotangents (reverse mode) then carry a leading *word* axis and
broadcast against that cache, so a sweep over W words costs about one forward over
W × steps rows, as SPEC §9 plans: the primal is never recomputed per word.

Family-specific math lives in the blocks (:mod:`ipyinfluence.blocks`): this module only
composes their parts (``qkv_jvp``, ``out_jvp``, ``post_jvp`` and their transposes) with
the attention's softmax, which every family shares. So the sweeps here serve BERT's
post-LN encoders and the pre-norm causal decoders alike.

Shapes: primal ``(S, N, H)``; tangents ``(W, S, N, H)``; heads split as ``(…, A, N, d)``.
The rules are checked against ``torch.autograd`` in ``tests/test_functional.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .blocks.norms import NormCache, activation_derivative, norm_jvp, norm_vjp  # noqa: F401  (re-exported)
from .blocks.post_ln import EmbeddingCache, LayerCache  # noqa: F401  (re-exported)
from .blocks.tensors import at_positions, head_rows, merge_heads, split_heads  # noqa: F401
from .quadrature import path_mean


@dataclass
class Forward:
    """Primal activations over the step batch: ``hidden[l]`` is ``h^l`` (S, N, H)."""

    hidden: list[torch.Tensor]
    layers: list[Any]  # each block's cache
    embedding: Any  # the embedding's cache (None where it is linear)


# -- primal -------------------------------------------------------------------

def embed(w, word_vectors: torch.Tensor, token_type_ids: torch.Tensor | None = None, cache: bool = False):
    """``h^0`` from word vectors ``(S, N, E)`` (the DoI interpolates only these)."""
    return w.forward(word_vectors, token_type_ids, cache)


def layer_forward(w, x: torch.Tensor, heads: int | None = None, cache: bool = False,
                  head_mask: torch.Tensor | None = None, skip_mask: torch.Tensor | None = None):
    """One block (``heads`` is the block's own; kept for the callers that pass it).

    ``head_mask`` (N, A) zeroes head context vectors before ``W_O`` and ``skip_mask`` (N,)
    leaves skip inputs out of the residual sum: the ablation of SPEC §6."""
    return w.forward(x, cache, head_mask, skip_mask)


def encoder_forward(enc, word_vectors: torch.Tensor, token_type_ids: torch.Tensor | None = None,
                    cache: bool = False) -> Forward:
    """All of ``h^0..h^L``; differentiable, so autograd gives ``∂q/∂h^l`` for every l at once."""
    h, ec = enc.embeddings.forward(word_vectors, token_type_ids, cache)
    hidden = [h]
    caches = []
    for lw in enc.layers:
        h, c = lw.forward(h, cache)
        hidden.append(h)
        if cache:
            caches.append(c)
    return Forward(hidden=hidden, layers=caches, embedding=ec)


# -- forward mode ---------------------------------------------------------------

def embed_jvp(w, c, dword: torch.Tensor) -> torch.Tensor:
    """Tangent of ``h^0`` for a tangent of the word vectors (position-wise)."""
    return w.jvp(c, dword)


def post_attention_jvp(w, c, dz: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
    """Tangent of ``h^l`` from a tangent of the residual sum ``z`` (the position-wise rest)."""
    return w.post_jvp(c, dz, pos)


def post_attention_vjp(w, c, gh: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
    """Cotangent of ``z`` from a cotangent of ``h^l``."""
    return w.post_vjp(c, gh, pos)


def _softmax_jvp(probs: torch.Tensor, dscores: torch.Tensor) -> torch.Tensor:
    return probs * (dscores - (probs * dscores).sum(-1, keepdim=True))


def head_context_jvp(w, c, dx: torch.Tensor, heads: int | None = None) -> torch.Tensor:
    """Tangent of every head's context vector ``a^l_{k,h}`` (W, S, A, N, d).

    Queries and keys move with the input: the attention weights are not frozen.
    """
    dq, dk, dv = w.qkv_jvp(c, dx)
    dscores = (dq @ c.k.transpose(-1, -2) + c.q @ dk.transpose(-1, -2)) * w.scale
    return _softmax_jvp(c.probs, dscores) @ c.v + c.probs @ dv


def head_output(w, c, dctx: torch.Tensor) -> torch.Tensor:
    """Per-head contribution to ``z`` (W, S, A, N, H): ``out`` applied to one head at a time
    (it is linear in the context vectors, so the heads' contributions add up)."""
    a = dctx.shape[-3]
    eye = torch.eye(a, dtype=dctx.dtype, device=dctx.device)[:, :, None, None]  # (A, A, 1, 1)
    one_each = dctx.unsqueeze(-4) * eye  # (…, A_route, A, N, d)
    return w.out_jvp(c, one_each)


def layer_jvp(w, c, dx: torch.Tensor, heads: int | None = None) -> torch.Tensor:
    """Tangent of ``h^l`` for a tangent of ``h^{l-1}`` (all routes)."""
    dz = dx + w.out_jvp(c, head_context_jvp(w, c, dx))
    return w.post_jvp(c, dz)


# -- reverse mode ---------------------------------------------------------------

def embed_vjp(w, c, gh: torch.Tensor) -> torch.Tensor:
    """Cotangent of the word vectors for a cotangent of ``h^0`` (position-wise)."""
    return w.vjp(c, gh)


def _scores_vjp(w, probs: torch.Tensor, v: torch.Tensor, gctx: torch.Tensor) -> torch.Tensor:
    """Cotangent of the scaled scores ``q·k`` (before the scale) for a cotangent of the context."""
    gprobs = gctx @ v.transpose(-1, -2)
    gscores = probs * (gprobs - (probs * gprobs).sum(-1, keepdim=True)) * w.scale
    return gscores


def layer_vjp(w, c, gh: torch.Tensor, heads: int | None = None) -> torch.Tensor:
    """Cotangent of ``h^{l-1}`` for a cotangent of ``h^l`` (all routes)."""
    gz = w.post_vjp(c, gh)
    gctx = w.out_vjp(c, gz)
    gscores = _scores_vjp(w, c.probs, c.v, gctx)
    gv = c.probs.transpose(-1, -2) @ gctx
    return gz + w.qkv_vjp(c, gscores @ c.k, gscores.transpose(-1, -2) @ c.q, gv)


# -- routes into h^l: the scores of the attention level ------------------------------

def route_grid(w, c, dx: torch.Tensor, gh: torch.Tensor, heads: int | None = None,
               weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores of every route into every ``h^l_k``: (W, N, A+1), column 0 the skip.

    ``dx`` is a tangent at ``h^{l-1}`` (W, S, N, H) and ``gh`` a cotangent at ``h^l``
    (restricted or not). Head h at query k scores ``mean_α <∂a^l_{k,h}, out_hᵀ ∂q/∂z_k>``,
    the skip ``mean_α <dx_k, ∂q/∂z_k>``. Also returns the head context tangents
    (W, S, A, N, d), which the caller needs to push the kept routes on.
    """
    gz = w.post_vjp(c, gh)
    dctx = head_context_jvp(w, c, dx)
    return route_scores(w, c, dx, dctx, gz, None, weights), dctx


def route_scores(w, c, dx_k: torch.Tensor, dctx: torch.Tensor, gz: torch.Tensor, pos: torch.Tensor | None = None,
                 weights: torch.Tensor | None = None) -> torch.Tensor:
    """(W, k, A+1) route scores at k query rows ``pos`` from the skip's tangent ``dx_k``
    (W, S, k, H), the heads' context tangents ``dctx`` (W, S, A, k, d) and ``∂q/∂z`` there
    ``gz`` (W, S, k, H)."""
    gctx = w.out_vjp(c, gz, pos)
    skip = path_mean((dx_k * gz).sum(-1), weights, 1)  # (W, k)
    head = path_mean((dctx * gctx).sum(-1), weights, 1)  # (W, A, k)
    return torch.cat([skip.unsqueeze(-1), head.transpose(1, 2)], dim=-1)


def routes_jvp(w, c, dx_k: torch.Tensor, dctx: torch.Tensor, keep: torch.Tensor,
               pos: torch.Tensor | None = None) -> torch.Tensor:
    """Tangent of ``h^l`` carried by the kept routes only: ``keep`` (W, k, A+1) bool, column 0
    the skip (whose tangent is ``dx_k``), 1..A the heads (``dctx``); rows at ``pos``."""
    heads_kept = keep[..., 1:].transpose(1, 2)[:, None, :, :, None]  # (W, 1, A, k, 1)
    dz = dx_k * keep[..., 0][:, None, :, None] + w.out_jvp(c, dctx * heads_kept, pos)
    return w.post_jvp(c, dz, pos)


# -- the same maps on gathered positions ---------------------------------------------
# A pattern keeps only k positions per layer, so its tangents and cotangents live on those
# positions: the blocks read their position-wise caches there (``pos``), so the norms and
# the MLP cost k rows instead of N. Positions are per word: (W, k).

def head_columns(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """(W, S, A, k, N) at per-word columns (W, j) -> (W, S, A, k, j)."""
    w, s, a, k, _ = x.shape
    return torch.gather(x, -1, idx[:, None, None, None, :].expand(w, s, a, k, idx.shape[1]))


def same_position(k_pos: torch.Tensor, j_pos: torch.Tensor, dtype) -> torch.Tensor:
    """(W, k, j) with 1 where the two position lists name the same position."""
    return (k_pos[:, :, None] == j_pos[:, None, :]).to(dtype)


def head_context_jvp_at(w, c, dx: torch.Tensor, k_pos: torch.Tensor, j_pos: torch.Tensor,
                        heads: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`head_context_jvp` for a tangent living on positions ``j_pos`` (W, S, j, H), read
    at query positions ``k_pos``: returns the heads' context tangents (W, S, A, k, d) and the
    skip's tangent at ``k_pos`` (W, S, k, H). Queries move only where ``k == j``; keys and
    values only at the ``j`` columns."""
    same = same_position(k_pos, j_pos, dx.dtype)  # (W, k, j)
    dq_j, dk, dv = w.qkv_jvp(c, dx, j_pos)  # (W, S, A, j, d)
    dq = torch.einsum("wkj,wsajd->wsakd", same, dq_j)
    q_k, probs_k = head_rows(c.q, k_pos), head_rows(c.probs, k_pos)  # (W, S, A, k, ·)
    dscores = dq @ c.k.transpose(-1, -2)
    jcols = j_pos[:, None, None, None, :].expand(*dscores.shape[:-1], j_pos.shape[1])
    dscores = dscores.scatter_add(-1, jcols, q_k @ dk.transpose(-1, -2)) * w.scale
    dctx = _softmax_jvp(probs_k, dscores) @ c.v + head_columns(probs_k, j_pos) @ dv
    return dctx, torch.einsum("wkj,wsjh->wskh", same, dx)


def layer_vjp_at(w, c, gh: torch.Tensor, k_pos: torch.Tensor, j_pos: torch.Tensor,
                 heads: int | None = None) -> torch.Tensor:
    """:func:`layer_vjp` for a cotangent living on ``k_pos`` (W, S, k, H), read back at the
    input positions ``j_pos``: (W, S, j, H). All routes into the kept ``h^l_k``."""
    gz = w.post_vjp(c, gh, k_pos)  # (W, S, k, H)
    gctx = w.out_vjp(c, gz, k_pos)  # (W, S, A, k, d)
    probs_k = head_rows(c.probs, k_pos)  # (W, S, A, k, N)
    gscores = _scores_vjp(w, probs_k, c.v, gctx)
    same = same_position(k_pos, j_pos, gz.dtype)
    gv = head_columns(probs_k, j_pos).transpose(-1, -2) @ gctx  # values at the kept inputs j
    gk = head_columns(gscores, j_pos).transpose(-1, -2) @ head_rows(c.q, k_pos)  # keys at j
    gq = torch.einsum("wkj,wsakd->wsajd", same, gscores @ c.k)  # queries: only where k == j
    gx = torch.einsum("wkj,wskh->wsjh", same, gz)  # the skip
    return gx + w.qkv_vjp(c, gq, gk, gv, j_pos)


# -- the embedding level's scores read through the adjoint -------------------------------
# The part of a block after the attention (``out``, the residual and ``post``) is
# position-wise, so for every position e  <P_e dz_e, G_e> = <dz_e, gz_e> with
# gz = post_vjp(G^l): shared by every word. A word's score at every position then needs
# its attention tangent only where it is non-zero (the kept rows and columns), and the
# position-wise part runs only at the position(s) kept next.

@dataclass
class KeptRowsTangent:
    """What :func:`kept_rows_scores` found for one layer, reused to push the kept tangent on."""

    ds_cols: torch.Tensor  # (W, S, A, N, k): d scores[e, keep_m], the keys move
    ds_rows: torch.Tensor  # (W, S, A, k, N): d scores[keep_m, j], the queries move
    p_cols: torch.Tensor  # (W, S, A, N, k): P[e, keep_m]
    row_sums: torch.Tensor  # (W, S, A, N): Σ_j P ds at every query row
    dv: torch.Tensor  # (W, S, A, k, d): the values' tangent at the kept rows


def kept_rows_scores(w, c, rows: torch.Tensor, keep: torch.Tensor, gh: torch.Tensor,
                     heads: int | None = None) -> tuple[torch.Tensor, KeptRowsTangent]:
    """Per step ``<T^l_e, G^l_e>`` at every position e (W, S, N), for a tangent of ``h^{l-1}``
    living on the kept rows ``keep`` (W, k) (values ``rows`` (W, S, k, H)) and ``G^l = gh``
    (S, N, H). Equal to the dense tangent (:func:`layer_jvp`) dotted with ``gh`` (tested), at
    O(N·k) per word and head instead of O(N²) and without the N-row position-wise part."""
    wd, s, k, _ = rows.shape
    heads, n = c.probs.shape[1], c.probs.shape[-1]
    gz = w.post_vjp(c, gh)  # (S, N, H), shared by every word
    gctx = w.out_vjp(c, gz)  # (S, A, N, d)
    m = gctx @ c.v.transpose(-1, -2)  # (S, A, N, N): <gctx_e, v_j>
    pm = c.probs * (m - (c.probs * m).sum(-1, keepdim=True))  # centred per row: no cancellation
    dq, dk, dv = w.qkv_jvp(c, rows, keep)  # (W, S, A, k, d)
    ds_cols = (c.q @ dk.transpose(-1, -2)) * w.scale  # (W, S, A, N, k)
    ds_rows = (dq @ c.k.transpose(-1, -2)) * w.scale  # (W, S, A, k, N)
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


def kept_rows_push(w, c, rows: torch.Tensor, keep: torch.Tensor, new: torch.Tensor,
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
    dz = w.out_jvp(c, dctx, new) + torch.einsum("wij,wsjh->wsih", same, rows)
    return w.post_jvp(c, dz, new)
