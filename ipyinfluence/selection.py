"""Which nodes are candidates at a layer, and which are kept (SPEC §4).

One home for the choice rules that GPR and every baseline method share: the sign
``σ_i``, "the ``k`` largest, ties to the lowest index", and the candidate routes of the
attention level.
"""

from __future__ import annotations

import torch


def signs(total: torch.Tensor) -> torch.Tensor:
    """``σ_i = sign(g_i)``, +1 when ``g_i == 0`` (SPEC §4)."""
    return torch.where(total >= 0, 1.0, -1.0).to(total.dtype)


def top_k(values: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` largest values along the last axis, ties to the lowest index."""
    return torch.sort(values, dim=-1, descending=True, stable=True).indices[..., :k]


def signed(criterion: torch.Tensor, sign: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """``σ·criterion`` per word (leading axis), ``-inf`` where a cell is not a candidate."""
    out = sign.reshape(-1, *([1] * (criterion.dim() - 1))) * criterion
    if valid is not None:
        out = torch.where(valid, out, torch.full_like(out, -float("inf")))
    return out


def pick(criterion: torch.Tensor, sign: torch.Tensor, k: int, valid: torch.Tensor | None = None) -> torch.Tensor:
    """``top_k`` of ``σ·criterion`` over the flattened trailing axes, invalid cells excluded."""
    return top_k(signed(criterion, sign, valid).flatten(1), k)


def position_masks(chosen: list[torch.Tensor], n: int) -> list[torch.Tensor]:
    """Per layer a (W, N) bool mask of the kept positions."""
    return [torch.zeros(c.shape[0], n, dtype=torch.bool, device=c.device).scatter_(1, c, True) for c in chosen]


def valid_routes(masks: list[torch.Tensor], l: int, heads: int) -> torch.Tensor:
    """(W, N, A+1) bool: routes that are candidates at layer ``l`` (SPEC §4.2), column 0 the skip.

    Any head into a kept position ``h^l_k``; the skip only where ``h^{l-1}_k`` is kept too.
    """
    valid = masks[l].unsqueeze(-1).expand(*masks[l].shape, heads + 1).clone()
    valid[..., 0] &= masks[l - 1]
    return valid
