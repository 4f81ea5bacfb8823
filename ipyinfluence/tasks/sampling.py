"""Even, seeded sampling over sentence types."""

from __future__ import annotations

import random
from typing import Sequence, TypeVar

from ..errors import InputError

T = TypeVar("T")


def per_type_counts(n: int, types: Sequence[str]) -> dict[str, int]:
    """``n`` split as evenly as possible; the first types get the remainder."""
    base, extra = divmod(n, len(types))
    return {t: base + (i < extra) for i, t in enumerate(types)}


def sample_evenly(pools: dict[str, Sequence[T]], n: int, rng: random.Random, task: str) -> list[T]:
    """``n`` items, the types (keys of ``pools``, in order) equally represented, interleaved.

    Interleaving (type 1, type 2, …, type 1, …) keeps every prefix of the result balanced too.
    """
    wanted = per_type_counts(n, list(pools))
    short = {t: len(pools[t]) for t in pools if len(pools[t]) < wanted[t]}
    if short:
        most = min(len(p) for p in pools.values()) * len(pools)
        raise InputError(f"task {task!r} has too few instances after the filters for n={n}: {short} "
                         f"(available per type: { {t: len(p) for t, p in pools.items()} }); ask for n <= {most}.")
    picked = {t: rng.sample(list(pools[t]), wanted[t]) for t in pools}
    return interleave([picked[t] for t in pools])


def interleave(groups: Sequence[Sequence[T]]) -> list[T]:
    out: list[T] = []
    for i in range(max((len(g) for g in groups), default=0)):
        out += [g[i] for g in groups if i < len(g)]
    return out
