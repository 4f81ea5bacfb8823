"""The embedding level (SPEC §4.1) with the dense tangent pushed through every layer: the
plain reference that :func:`ipyinfluence.gpr.embedding_level` (scores read through the
shared adjoint) is tested against. ``layer_jvp_rows`` is :func:`functional.layer_jvp` for a
tangent living on a few rows (itself tested against ``layer_jvp`` in test_functional.py)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ipyinfluence.architectures import LayerWeights
from ipyinfluence.functional import LayerCache, merge_heads, post_attention_jvp, split_heads
from ipyinfluence.gpr import EmbeddingLevel, Prepared, source_tangent
from ipyinfluence.model import InfluenceModel
from ipyinfluence.quadrature import mean_dot
from ipyinfluence.selection import pick, signs


def layer_jvp_rows(w: LayerWeights, c: LayerCache, dx: torch.Tensor, rows: torch.Tensor, heads: int,
                   n: int) -> torch.Tensor:
    """:func:`layer_jvp` for a tangent that is non-zero only at per-word positions ``rows`` (W, k).

    ``dx`` holds those rows only (W, S, k, H); the result is dense (W, S, N, H). Q/K/V
    tangents are computed on the k rows: the query moves only at those rows and the keys
    and values only at those columns, so the projections cost k rows instead of N.
    """
    wd, s, k, hsz = dx.shape
    d = hsz // heads
    dq = split_heads(F.linear(dx, w.wq), heads)  # (W, S, A, k, d)
    dk = split_heads(F.linear(dx, w.wk), heads)
    dv = split_heads(F.linear(dx, w.wv), heads)
    dscores = torch.zeros(wd, s, heads, n, n, dtype=dx.dtype, device=dx.device)
    dscores.scatter_add_(-2, rows[:, None, None, :, None].expand(wd, s, heads, k, n), dq @ c.k.transpose(-1, -2))
    dscores.scatter_add_(-1, rows[:, None, None, None, :].expand(wd, s, heads, n, k), c.q @ dk.transpose(-1, -2))
    dscores = dscores / math.sqrt(d)
    dprobs = c.probs * (dscores - (c.probs * dscores).sum(-1, keepdim=True))
    probs_cols = torch.gather(c.probs.expand(wd, -1, -1, -1, -1), -1,
                              rows[:, None, None, None, :].expand(wd, s, heads, n, k))
    dctx = dprobs @ c.v + probs_cols @ dv
    dz = torch.zeros(wd, s, n, hsz, dtype=dx.dtype, device=dx.device)
    dz.scatter_add_(2, rows[:, None, :, None].expand(wd, s, k, hsz), dx)
    dz = dz + F.linear(merge_heads(dctx), w.wo)
    return post_attention_jvp(w, c, dz)


def tangent_embedding_level(model: InfluenceModel, prep: Prepared, sources: torch.Tensor, top_k: int = 1,
                            forced: list[torch.Tensor] | None = None) -> EmbeddingLevel:
    enc = model.weights
    t = source_tangent(model, prep, sources)
    n = t.shape[2]
    s0 = mean_dot(t, prep.grads[0], prep.weights)
    total = s0[torch.arange(sources.numel()), sources]
    sign = signs(total)
    chosen, scores = [sources.reshape(-1, 1)], [s0]
    for l, (lw, c) in enumerate(zip(enc.layers, prep.forward.layers), start=1):
        keep = chosen[-1]
        rows = t.gather(2, keep[:, None, :, None].expand(-1, t.shape[1], -1, t.shape[3]))
        t = layer_jvp_rows(lw, c, rows, keep, enc.num_heads, n)
        sc = mean_dot(t, prep.grads[l], prep.weights)
        chosen.append(forced[l - 1] if forced is not None else pick(sc, sign, top_k))
        scores.append(sc)
    influence = scores[-1].gather(1, chosen[-1]).sum(1)
    return EmbeddingLevel(total=total, chosen=chosen, scores=scores, influence=influence)
