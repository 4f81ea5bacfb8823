"""Skip share (docs/method.md §6): the share of attention-level transitions that take the skip route.

Every kept route of every layer of every word's ``π^a`` is one transition (one per layer
for GPR; ``top_k`` per layer with the extension). The paper reports 75.4% over its tasks.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..results import SKIP
from .nodes import words_of


@dataclass
class SkipShare:
    skips: int
    transitions: int
    share: float  # nan when there are no transitions


def skip_share(results, sign: int | None = None) -> SkipShare:
    """Over the words of ``results`` (all, or only ``g_i > 0`` / ``< 0`` with ``sign=±1``)."""
    skips = total = 0
    for w in words_of(results):
        if sign is not None and not ((sign > 0 and w.total_influence > 0) or (sign < 0 and w.total_influence < 0)):
            continue
        if w.attention is None:
            raise ValueError(f"word {w.token!r} has no attention-level pattern; explain with level='attention'.")
        for step in w.attention.steps:
            for c in step.chosen:
                total += 1
                skips += c.route == SKIP
    return SkipShare(skips=skips, transitions=total, share=skips / total if total else float("nan"))
