"""The ``internal_influence`` baseline (docs/method.md §5; Leino et al. 2018, "Influence-directed
explanations for deep convolutional networks").

Embedding level: at layer ``l`` keep ``argmax_e σ_i · Σ_dims mean_α ∂q/∂h^l_e``. The
internal influence of a node does not depend on the source word, so every word with the
same sign gets the same nodes (``h^0`` stays at the source). The gradient is averaged
over the same α path as GPR's (the shared backward pass ``G^l``).

Attention level: into the chosen ``h^l_k`` keep the route with the largest
``σ_i · Σ_dims mean_α ∂q/∂route``: a head's context vector ``a^l_{k,h}`` (gradient through
``W_O``) or, where the previous chosen node sits at ``k``, the skip input ``s^l_k``.
The pattern's influence is computed as GPR's (:mod:`.common`).
"""

from __future__ import annotations

import torch

from ..functional import post_attention_vjp
from ..gpr import Prepared
from ..model import InfluenceModel
from ..quadrature import path_mean
from ..selection import signs
from .common import MethodAttentionLevel, MethodEmbeddingLevel, patterns_from_criteria, totals


def internal_influence(model: InfluenceModel, prep: Prepared) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per layer ``0..L`` the internal influence of each ``h^l_e`` (N,), and per layer
    ``1..L`` that of each route (N, A+1), column 0 the skip."""
    hidden = [path_mean(g.sum(-1), prep.weights, 0) for g in prep.grads]
    routes = []
    for l, (lw, c) in enumerate(zip(model.weights.layers, prep.forward.layers), start=1):
        gz = post_attention_vjp(lw, c, prep.grads[l])  # (S, N, H): ∂q/∂s^l, the skip input
        gctx = lw.out_vjp(c, gz)  # (S, A, N, d)
        heads = path_mean(gctx.sum(-1), prep.weights, 0).transpose(0, 1)  # (N, A)
        routes.append(torch.cat([path_mean(gz.sum(-1), prep.weights, 0).unsqueeze(-1), heads], dim=-1))
    return hidden, routes


@torch.no_grad()
def internal_influence_patterns(model: InfluenceModel, prep: Prepared, sources: torch.Tensor, *,
                                level: str = "attention", top_k: int = 1, readout: int | None = None, seed: int = 0
                                ) -> tuple[MethodEmbeddingLevel, MethodAttentionLevel | None]:
    """The ``internal_influence`` baseline; ``top_k`` keeps the k best nodes (routes) per layer."""
    w = sources.numel()
    hidden, grids = internal_influence(model, prep)
    sign = signs(totals(model, prep, sources))
    crit = [h.expand(w, -1) for h in hidden]
    route_crit = [g.expand(w, -1, -1) for g in grids] if level == "attention" else None
    return patterns_from_criteria(model, prep, sources, crit, route_crit, sign, top_k)
