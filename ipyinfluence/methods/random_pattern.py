"""The ``random`` baseline (docs/method.md §5): a uniformly random node per layer, seeded.

Embedding level: at each layer ``1..L`` (the last included) ``top_k`` distinct positions
drawn uniformly from the ``N`` tokens; ``h^0`` stays at the source. Attention level: into
the chosen ``h^l_k``, ``top_k`` routes drawn uniformly from the valid ones (the ``A`` heads,
plus the skip where the previous node sits at ``k``). Draws are uniform scores, the
largest kept; they are stored as ``criterion``.

Reproducibility: each source word draws from its own generator, seeded from
``(seed, position)``, so a word's pattern does not depend on which other words are
explained with it or on how they are chunked. Through :func:`ipyinfluence.explain`,
``method="random"`` uses seed 0 and ``method="random:7"`` seed 7.

:func:`seed_spread` runs any measurement over several seeds and reports the mean and
spread, as docs/method.md §5 asks of this baseline.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Callable, Iterable

import torch

from ..gpr import Prepared
from ..model import InfluenceModel
from ..selection import pick, position_masks, valid_routes
from .common import MethodAttentionLevel, MethodEmbeddingLevel, forced_attention_level, forced_embedding_level

_LEVEL_STREAM = {"embedding": 0, "attention": 1}


def _draws(seed: int, position: int, stream: str, shape: tuple[int, ...], dtype, device) -> torch.Tensor:
    """Uniform draws for one word, from a generator of its own (seed, position, level)."""
    g = torch.Generator().manual_seed((int(seed) * 1_000_003 + int(position)) * 2 + _LEVEL_STREAM[stream])
    return torch.rand(shape, generator=g, dtype=torch.float64).to(dtype=dtype, device=device)


@torch.no_grad()
def random_patterns(model: InfluenceModel, prep: Prepared, sources: torch.Tensor, *, level: str = "attention",
                    top_k: int = 1, readout: int | None = None, seed: int = 0
                    ) -> tuple[MethodEmbeddingLevel, MethodAttentionLevel | None]:
    """The ``random`` baseline with the given ``seed``."""
    n = prep.forward.hidden[0].shape[1]
    layers, heads = model.num_layers, model.num_heads
    dtype, device = prep.grads[0].dtype, prep.grads[0].device
    positions = sources.tolist()
    draws = torch.stack([_draws(seed, p, "embedding", (layers, n), dtype, device) for p in positions])  # (W, L, N)
    ones = torch.ones(len(positions), dtype=dtype, device=device)
    chosen = [pick(draws[:, l], ones, top_k) for l in range(layers)]
    at_source = torch.full((len(positions), n), float("nan"), dtype=dtype, device=device)
    emb = forced_embedding_level(model, prep, sources, chosen, [at_source] + [draws[:, l] for l in range(layers)])
    if level != "attention":
        return emb, None
    masks = position_masks(emb.chosen, n)
    route_draws = torch.stack([_draws(seed, p, "attention", (layers, n, heads + 1), dtype, device)
                               for p in positions])
    routes, crit = [], []
    for l in range(1, layers + 1):
        valid = valid_routes(masks, l, heads)
        routes.append(pick(route_draws[:, l - 1], ones, top_k, valid))
        crit.append(torch.where(valid, route_draws[:, l - 1], torch.full_like(route_draws[:, l - 1], float("nan"))))
    return emb, forced_attention_level(model, prep, sources, emb, routes, crit)


@dataclass
class Spread:
    """Mean and spread of one measurement over seeds."""

    seeds: list[int]
    values: list[float]
    mean: float
    std: float  # sample standard deviation (0 for a single seed)
    min: float
    max: float


def seed_spread(measure: Callable[[int], float], seeds: Iterable[int] = range(5)) -> Spread:
    """Run ``measure(seed)`` for each seed (e.g. the ablated accuracy of the ``random``
    baseline explained with ``method=f"random:{seed}"``) and summarise it."""
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seed_spread needs at least one seed.")
    values = [float(measure(s)) for s in seeds]
    finite = [v for v in values if not math.isnan(v)]
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return Spread(seeds=seeds, values=values, mean=statistics.fmean(values), std=std,
                  min=min(finite) if finite else math.nan, max=max(finite) if finite else math.nan)
