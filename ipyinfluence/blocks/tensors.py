"""Reshaping helpers shared by every block: heads, and per-word gathered positions."""

from __future__ import annotations

import torch


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(…, N, heads·d) -> (…, heads, N, d)."""
    *lead, n, h = x.shape
    return x.reshape(*lead, n, heads, h // heads).transpose(-3, -2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(…, A, N, d) -> (…, N, A·d)."""
    *lead, a, n, d = x.shape
    return x.transpose(-3, -2).reshape(*lead, n, a * d)


def at_positions(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """(S, N, …) at per-word positions (W, k) -> (W, S, k, …)."""
    return x[:, idx].transpose(0, 1)


def head_rows(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """(S, A, N, …) at per-word positions (W, k) -> (W, S, A, k, …)."""
    return x[:, :, idx].permute(2, 0, 1, *range(3, x.dim() + 1))


def at(x: torch.Tensor | None, pos: torch.Tensor | None) -> torch.Tensor | None:
    """A position-wise cached tensor (S, N, …) where a tangent lives: all rows (``pos`` None)
    or the per-word positions (W, k)."""
    if x is None or pos is None:
        return x
    return at_positions(x, pos)


def heads_at(x: torch.Tensor | None, pos: torch.Tensor | None) -> torch.Tensor | None:
    """A per-head cached tensor (S, A, N, …) at all rows or at per-word positions."""
    if x is None or pos is None:
        return x
    return head_rows(x, pos)
