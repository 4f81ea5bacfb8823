"""LayerNorm and RMSNorm with their hand-written linear maps.

Both normalise the last axis; RMSNorm does not centre. The weight is the effective
scale (Gemma's ``1 + w`` is folded in by its reader). Jacobians are applied, never built.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .tensors import at, heads_at


@dataclass
class Norm:
    """One normalisation: ``γ·(x − mean)/σ + β`` (LayerNorm) or ``γ·x/rms(x)`` (RMSNorm)."""

    weight: torch.Tensor
    bias: torch.Tensor | None
    eps: float
    centred: bool = True  # False: RMSNorm

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.centred:
            return F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)
        y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight
        return y if self.bias is None else y + self.bias

    def cache(self, x: torch.Tensor) -> "NormCache":
        return norm_cache(x, self.weight, self.eps, self.centred)


@dataclass
class NormCache:
    xhat: torch.Tensor  # (…, N, H) normalised input
    rstd: torch.Tensor  # (…, N, 1)
    weight: torch.Tensor  # (H,)
    centred: bool = True

    def at(self, pos: torch.Tensor | None) -> "NormCache":
        """Where a tangent lives: every row, or the per-word positions (W, k)."""
        if pos is None:
            return self
        return NormCache(at(self.xhat, pos), at(self.rstd, pos), self.weight, self.centred)

    def heads_at(self, pos: torch.Tensor | None) -> "NormCache":
        """A per-head norm's cache (S, A, N, d) at every row or at per-word positions."""
        if pos is None:
            return self
        return NormCache(heads_at(self.xhat, pos), heads_at(self.rstd, pos), self.weight, self.centred)


def norm_cache(z: torch.Tensor, weight: torch.Tensor, eps: float, centred: bool = True) -> NormCache:
    z = z.detach()
    if centred:
        mu = z.mean(-1, keepdim=True)
        rstd = torch.rsqrt(z.var(-1, keepdim=True, unbiased=False) + eps)
        return NormCache(xhat=(z - mu) * rstd, rstd=rstd, weight=weight.detach())
    rstd = torch.rsqrt(z.pow(2).mean(-1, keepdim=True) + eps)
    return NormCache(xhat=z * rstd, rstd=rstd, weight=weight.detach(), centred=False)


def norm_jvp(dz: torch.Tensor, c: NormCache) -> torch.Tensor:
    """Tangent: ``γ·rstd·(dz − mean(dz) − x̂·mean(x̂·dz))`` (no ``mean(dz)`` for RMSNorm)."""
    inner = dz - c.xhat * (c.xhat * dz).mean(-1, keepdim=True)
    if c.centred:
        inner = inner - dz.mean(-1, keepdim=True)
    return c.weight * c.rstd * inner


def norm_vjp(gy: torch.Tensor, c: NormCache) -> torch.Tensor:
    """Cotangent (the Jacobian before γ is symmetric)."""
    g = gy * c.weight
    inner = g - c.xhat * (c.xhat * g).mean(-1, keepdim=True)
    if c.centred:
        inner = inner - g.mean(-1, keepdim=True)
    return c.rstd * inner


def activation_derivative(act, p: torch.Tensor) -> torch.Tensor:
    """Elementwise derivative of an elementwise activation, by autograd (any HF ACT2FN)."""
    with torch.enable_grad():
        x = p.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(act(x).sum(), x)
    return grad
