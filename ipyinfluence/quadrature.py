"""Integration rules over the path parameter α (docs/method.md §2.3): where the steps sit and what
each weighs.

* ``"paper"``: ``α = linspace(0, 1, steps)``, a plain mean over the points (Riemann with
  both ends, as the authors' code). Its weights are ``None``, meaning "the plain mean",
  so the paper's numbers are computed exactly as before (``Tensor.mean``).
* ``"gauss-legendre"``: the ``steps`` Gauss–Legendre nodes mapped to ``[0, 1]`` with
  their weights (summing to 1). Exact for polynomials of degree ``2·steps − 1``.

One default everywhere except ``reproduce`` (which keeps the paper's rule, so Table 1 is
the paper's): Gauss–Legendre with 32 nodes. Measured on all-MiniLM-L6-v2 (four sentences)
against a 256-node float64 reference, it is off by 0.03–0.39% of max|g_i| where the
paper's 51 points are off by 1.8–2.6%, with 1.6× fewer points (``benchmarks/quadrature.py``;
``docs/method.md`` §2.3).

Every "mean over α" in the engine goes through :func:`path_mean`, so GPR's scores stay
linear in the per-step products whichever rule is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .errors import InputError

QUADRATURES = ("paper", "gauss-legendre")
# The default of explain, iter_explain, explain_many, Study and the widgets (reproduce: paper/51)
DEFAULT_STEPS, DEFAULT_QUADRATURE = 32, "gauss-legendre"
# steps="auto": the node counts tried in turn, each a fresh shared pass (cheap next to the sweeps)
AUTO_STEPS = {"gauss-legendre": (4, 8, 16, 32, 64, 128), "paper": (11, 21, 51, 101, 201, 401)}
# numpy computes Gauss–Legendre nodes from an n×n eigenproblem; past this no float32 run gains
# accuracy anyway (the paper's rule has no such limit: its memory is checked before the pass)
MAX_GAUSS_LEGENDRE = 1024


@dataclass
class PathPoints:
    """The α of one rule and their weights (``None`` = the plain mean)."""

    alphas: torch.Tensor  # (S,)
    weights: torch.Tensor | None  # (S,) summing to 1, or None
    quadrature: str

    @property
    def has_ends(self) -> bool:
        """Whether α = 0 and α = 1 are among the points (then q(b), q(x) come for free)."""
        return bool(self.alphas[0] == 0) and bool(self.alphas[-1] == 1)


def check_quadrature(quadrature, steps=None) -> str:
    """The rule's name; ``None`` means the default rule, Gauss–Legendre, whatever ``steps``
    is (``quadrature="paper"`` asks for the paper's rule)."""
    if quadrature is None:
        return DEFAULT_QUADRATURE
    if not isinstance(quadrature, str) or quadrature not in QUADRATURES:
        raise InputError(f"quadrature must be one of {QUADRATURES}; got {quadrature!r}.")
    return quadrature


def check_tolerance(tolerance) -> float:
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 < tolerance < 1:
        raise InputError(f"tolerance (for steps='auto') must be a number in (0, 1), a share of |q(x) − q(b)|; "
                         f"got {tolerance!r}.")
    return float(tolerance)


def check_steps(steps, quadrature: str = "paper") -> int | str:
    """``steps``: ``"auto"``, or an int of at least 2 for the paper's rule (both ends), 1 for
    Gauss–Legendre."""
    if steps == "auto":
        return steps
    low = 2 if quadrature == "paper" else 1
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < low:
        what = "both ends of the path" if low == 2 else "one node"
        raise InputError(f"steps must be an integer of at least {low} ({what}) or 'auto'; got {steps!r}.")
    if quadrature == "gauss-legendre" and steps > MAX_GAUSS_LEGENDRE:
        raise InputError(f"steps={steps} Gauss–Legendre nodes is more than {MAX_GAUSS_LEGENDRE}; no float32 run gains "
                         f"accuracy there: use 16–64 nodes, or steps='auto'.")
    return steps


def path_points(steps: int, quadrature: str = "paper", device=None, dtype=torch.float32) -> PathPoints:
    check_quadrature(quadrature)
    check_steps(steps, quadrature)
    if quadrature == "paper":
        return PathPoints(torch.linspace(0.0, 1.0, steps, device=device, dtype=dtype), None, quadrature)
    nodes, weights = np.polynomial.legendre.leggauss(steps)  # on [-1, 1], weights sum to 2
    a = torch.as_tensor((nodes + 1.0) / 2.0, dtype=torch.float64)
    w = torch.as_tensor(weights / 2.0, dtype=torch.float64)
    return PathPoints(a.to(device=device, dtype=dtype), w.to(device=device, dtype=dtype), quadrature)


def path_mean(x: torch.Tensor, weights: torch.Tensor | None, dim: int) -> torch.Tensor:
    """The mean over the α axis ``dim`` under the rule's weights."""
    if weights is None:
        return x.mean(dim)
    shape = [1] * x.dim()
    shape[dim] = -1
    return (x * weights.reshape(shape)).sum(dim)


def mean_dot(t: torch.Tensor, g: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """``mean_α <t, g>`` over the hidden axis: (W, S, N, H) × (…S, N, H) -> (W, N)."""
    return path_mean((t * g).sum(-1), weights, 1)
