"""The embedding level of GPR (SPEC §4.1) with its scores read through the adjoint.

Same result as :func:`ipyinfluence.gpr.embedding_level` (tested against it on every
family), cheaper: the engine pushes each word's tangent through the whole layer at every
position, ``T^l = J^l · t`` (W × S × N rows through ``W_O``, LN1, the FFN and LN2), only to
take ``score(e) = mean_α <T^l_e, G^l_e>`` and then keep one position. The part of the
layer after the attention (``W_O``, LN1, FFN, LN2, the residuals) is position-wise, so for
every position ``e``

    <P_e dz_e, G_e> = <dz_e, P_eᵀ G_e> = <dz_e, gz_e>,   gz = post_attention_vjp(G^l)

and ``gz`` (with ``gctx = W_Oᵀ gz`` split per head) depends on the step α only: it is
computed once per layer for all words. The head part of ``<dz_e, gz_e>`` is
``Σ_j dprobs[e, j] M[e, j] + Σ_m P[e, k_m] <gctx_e, dv_m>`` with ``M = gctx · Vᵀ`` (also
shared, centred per row so the softmax's two terms do not cancel), and ``dprobs = P ∘ (ds − Σ_j P ds)`` where the score tangent ``ds`` lives on the
kept rows (the query moves) and kept columns (keys move) only; so per word a layer costs
O(N·k) per head instead of the dense N×N attention tangent and the N-row FFN. The
position-wise part runs only for the new kept position(s), which carry the tangent into
the next layer. Scores are equal
up to float rounding (a different summation order), so choices are the engine's except
at exact ties of rounding size.

This is a candidate engine hook (see the closing note of issue 12): it lives here, not in
``gpr.py``, while the engine is being refactored.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..functional import (at_positions, head_rows, merge_heads, post_attention_cache_at, post_attention_jvp,
                          post_attention_vjp, split_heads)
from ..gpr import EmbeddingLevel, Prepared, source_tangent
from ..model import InfluenceModel
from ..quadrature import mean_dot, path_mean
from ..selection import pick, signs


def embedding_level_adjoint(model: InfluenceModel, prep: Prepared, sources: torch.Tensor, top_k: int = 1
                            ) -> EmbeddingLevel:
    """:func:`ipyinfluence.gpr.embedding_level` (no ``forced``/``sign`` options), adjoint scores."""
    enc = model.weights
    heads = enc.num_heads
    w_words = sources.numel()
    t = source_tangent(model, prep, sources)  # (W, S, N, H), non-zero at the source only
    s_steps, n = t.shape[1], t.shape[2]
    s0 = mean_dot(t, prep.grads[0], prep.weights)
    total = s0[torch.arange(w_words), sources]
    sign = signs(total)
    keep = sources.reshape(-1, 1)
    chosen, scores = [keep], [s0]
    rows = t.gather(2, keep[:, None, :, None].expand(-1, s_steps, -1, t.shape[3]))  # (W, S, k, H)
    for l, (lw, c) in enumerate(zip(enc.layers, prep.forward.layers), start=1):
        k = keep.shape[1]
        d = rows.shape[-1] // heads
        # Shared by every word (once per step): the cotangents of z and of each head's context,
        # M[e, j] = <gctx_e, v_j>, and P∘M with its row sums.
        gz = post_attention_vjp(lw, c, prep.grads[l])  # (S, N, H)
        gctx = split_heads(F.linear(gz, lw.wo.t()), heads)  # (S, A, N, d)
        m = gctx @ c.v.transpose(-1, -2)  # (S, A, N, N)
        # centred per query row: Σ_j P (ds − a) M = Σ_j P ds (M − Σ_j P M), no cancellation between terms
        pm = c.probs * (m - (c.probs * m).sum(-1, keepdim=True))
        # The kept rows' attention tangents: keys / values move at the kept columns, queries at the kept rows.
        dq = split_heads(F.linear(rows, lw.wq), heads)  # (W, S, A, k, d)
        dk = split_heads(F.linear(rows, lw.wk), heads)
        dv = split_heads(F.linear(rows, lw.wv), heads)
        ds_cols = (c.q @ dk.transpose(-1, -2)) / math.sqrt(d)  # (W, S, A, N, k): d scores[e, keep_m]
        ds_rows = (dq @ c.k.transpose(-1, -2)) / math.sqrt(d)  # (W, S, A, k, N): d scores[keep_m, j]
        cols = keep[:, None, None, None, :].expand(w_words, s_steps, heads, n, k)
        p_cols = torch.gather(c.probs.expand(w_words, -1, -1, -1, -1), -1, cols)  # P[e, keep_m]
        pm_cols = torch.gather(pm.expand(w_words, -1, -1, -1, -1), -1, cols)
        p_rows, pm_rows = head_rows(c.probs, keep), head_rows(pm, keep)  # (W, S, A, k, N)
        row_idx = keep[:, None, None, :].expand(w_words, s_steps, heads, k)
        # a(e) = Σ_j P ds (for the new rows' context below), b(e) = Σ_j P (M − Σ P M) ds;
        # the query part of ds lives on the kept rows only
        a = (p_cols * ds_cols).sum(-1).scatter_add(-1, row_idx, (p_rows * ds_rows).sum(-1))  # (W, S, A, N)
        b = (pm_cols * ds_cols).sum(-1).scatter_add(-1, row_idx, (pm_rows * ds_rows).sum(-1))
        # Σ_d dctx·gctx = Σ_j dprobs M + Σ_m P[e, keep_m] <gctx_e, dv_m>, with Σ_j dprobs M = b
        head = b + (p_cols * (gctx @ dv.transpose(-1, -2))).sum(-1)  # (W, S, A, N)
        per_step = head.sum(2)  # (W, S, N)
        per_step = per_step.scatter_add(2, keep[:, None, :].expand(-1, s_steps, -1), (rows * at_positions(gz, keep)).sum(-1))
        sc = path_mean(per_step, prep.weights, 1)
        new = pick(sc, sign, top_k)
        # The tangent of h^l at the new kept positions only: their context tangents, z, LN1, FFN, LN2.
        k2 = new.shape[1]
        same = (new[:, :, None] == keep[:, None, :]).to(rows.dtype)  # (W, k', k)
        ds_new = torch.zeros(w_words, s_steps, heads, k2, n, dtype=rows.dtype, device=rows.device)
        ds_new.scatter_(-1, keep[:, None, None, None, :].expand(w_words, s_steps, heads, k2, k),
                        torch.gather(ds_cols, 3, new[:, None, None, :, None].expand(w_words, s_steps, heads, k2, k)))
        ds_new = ds_new + torch.einsum("wij,wsajn->wsain", same, ds_rows)
        p_new = head_rows(c.probs, new)  # (W, S, A, k', N)
        a_new = torch.gather(a, -1, new[:, None, None, :].expand(w_words, s_steps, heads, k2))
        dctx = (p_new * (ds_new - a_new[..., None])) @ c.v + torch.gather(p_cols, 3, new[:, None, None, :, None].expand(
            w_words, s_steps, heads, k2, k)) @ dv  # (W, S, A, k', d)
        dz = F.linear(merge_heads(dctx), lw.wo) + torch.einsum("wij,wsjh->wsih", same, rows)
        rows = post_attention_jvp(lw, post_attention_cache_at(c, new), dz)
        keep = new
        chosen.append(new)
        scores.append(sc)
    influence = scores[-1].gather(1, chosen[-1]).sum(1)
    return EmbeddingLevel(total=total, chosen=chosen, scores=scores, influence=influence)
