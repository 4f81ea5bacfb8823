"""The ``conductance`` baseline (docs/method.md §5): each layer's node chosen on its own.

Embedding level: at layer ``l`` keep ``argmax_e σ_i · I(x, [x_i, h^l_e, q])``, the
conductance of ``h^l_e`` for source ``i``: the tangent of ``x_i − b_i`` pushed through
layers ``1..l`` with no restriction (every path upstream), dotted with the unrestricted
``G^l = ∂q/∂h^l`` and averaged over α. The layers' choices ignore each other, so the
nodes need not form a pattern GPR could find; the pattern's influence is then computed
as GPR's (:mod:`.common`), through the chosen nodes only.

Attention level: into the chosen ``h^l_k``, keep the route (a head ``a^l_{k,h}`` or, where
the previous chosen node sits at ``k``, the skip ``s^l_k``) with the largest ``σ_i ×``
its unrestricted conductance: the route's tangent from the unrestricted tangent at
``h^{l-1}``, dotted with the unrestricted ``∂q/∂`` of the route (heads through ``W_O``).
``criterion`` holds these conductances (nan where the route is not a candidate).
"""

from __future__ import annotations

import torch

from ..functional import layer_jvp, route_grid
from ..gpr import Prepared, source_tangent
from ..model import InfluenceModel
from ..quadrature import mean_dot
from ..selection import signs
from .common import MethodAttentionLevel, MethodEmbeddingLevel, patterns_from_criteria


def conductance_sweep(model: InfluenceModel, prep: Prepared, sources: torch.Tensor, routes: bool = False
                      ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Unrestricted conductances: per layer ``0..L`` of every ``h^l_e`` (W, N) and, if
    ``routes``, per layer ``1..L`` of every route (W, N, A+1), column 0 the skip."""
    enc = model.weights
    t = source_tangent(model, prep, sources)
    hidden, grids = [mean_dot(t, prep.grads[0], prep.weights)], []
    for l, (lw, c) in enumerate(zip(enc.layers, prep.forward.layers), start=1):
        if routes:
            grids.append(route_grid(lw, c, t, prep.grads[l], enc.num_heads, prep.weights)[0])
        t = layer_jvp(lw, c, t, enc.num_heads)
        hidden.append(mean_dot(t, prep.grads[l], prep.weights))
    return hidden, grids


@torch.no_grad()
def conductance_patterns(model: InfluenceModel, prep: Prepared, sources: torch.Tensor, *, level: str = "attention",
                         top_k: int = 1, readout: int | None = None, seed: int = 0
                         ) -> tuple[MethodEmbeddingLevel, MethodAttentionLevel | None]:
    """The ``conductance`` baseline; ``top_k`` keeps the k best nodes (routes) per layer."""
    hidden, grids = conductance_sweep(model, prep, sources, routes=level == "attention")
    sign = signs(hidden[0][torch.arange(sources.numel()), sources])
    return patterns_from_criteria(model, prep, sources, hidden, grids if level == "attention" else None,
                                  sign, top_k)
