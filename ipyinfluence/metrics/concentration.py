"""Concentration (docs/method.md §6): how much of a word's influence its single pattern carries.

For each word ``I(x, π_i) / g_i``; the mean is reported separately over positively
(``g_i > 0``) and negatively (``g_i < 0``) influential words. Words with ``g_i == 0``
have no ratio and are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .nodes import _check_level, words_of


@dataclass
class Concentration:
    positive: float  # mean ratio over g_i > 0 (nan if none)
    negative: float  # mean ratio over g_i < 0 (nan if none)
    n_positive: int
    n_negative: int


def concentration(results, level: str = "embedding") -> Concentration:
    """Mean ``I(x, π_i) / g_i`` over the words of ``results`` (Explanations or WordResults),
    with the pattern of ``level`` (``π^e`` or ``π^a``)."""
    _check_level(level)
    pos, neg = [], []
    for w in words_of(results):
        g = w.total_influence
        if g == 0:
            continue
        pattern = w.embedding if level == "embedding" else w.attention
        if pattern is None:
            raise ValueError(f"word {w.token!r} has no attention-level pattern; explain with level='attention'.")
        (pos if g > 0 else neg).append(pattern.influence / g)
    mean = lambda v: sum(v) / len(v) if v else math.nan  # noqa: E731
    return Concentration(positive=mean(pos), negative=mean(neg), n_positive=len(pos), n_negative=len(neg))
