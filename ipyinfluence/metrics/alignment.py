"""Alignment rate (docs/method.md §6): do the heads a pattern takes match the attention weights?

Over the transitions ``h^{l-1}_j -> a^l_{k,h} -> h^l_k`` where ``π^a`` takes a head, the
share whose head ``h`` has the largest attention weight ``A^l_h[k, j]`` (query ``k``, key
``j``) among the heads of that layer, at the real input. Chance is ``1/A``. ``j`` is the
previous layer's node of the pattern; with ``top_k > 1`` every (previous node, kept head)
pair is a transition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from ..model import InfluenceModel
from ..results import SKIP, Explanation, WordResult
from .nodes import words_of


@dataclass
class Alignment:
    aligned: int
    transitions: int
    rate: float  # nan when no transition takes a head
    chance: float  # 1 / A


@torch.no_grad()
def attention_probabilities(model: InfluenceModel, text: str) -> torch.Tensor:
    """``A^l_h[k, j]`` at the real input: (L, A, N, N), rows = queries, layers 1..L at 0..L-1."""
    ids = torch.as_tensor(model.encode(text).input_ids, device=model.device).reshape(1, -1)
    fwd = model.forward(model.word_vectors(ids), cache=True)
    return torch.stack([c.probs[0] for c in fwd.layers])


def alignment_counts(words: Sequence[WordResult], probs: torch.Tensor) -> tuple[int, int]:
    """(aligned, transitions) for one text's words against its attention ``probs`` (L, A, N, N)."""
    aligned = total = 0
    for w in words:
        if w.attention is None:
            raise ValueError(f"word {w.token!r} has no attention-level pattern; explain with level='attention'.")
        for step in w.attention.steps:
            for c in step.chosen:
                if c.route == SKIP:
                    continue
                for j in step.source_positions:
                    best = int(torch.argmax(probs[step.layer - 1, :, c.position, j]))
                    total += 1
                    aligned += best == int(c.route)
    return aligned, total


def alignment_rate(model: InfluenceModel, explanations: Explanation | Sequence[Explanation]) -> Alignment:
    """Alignment over one or several explanations computed with ``model``."""
    if isinstance(explanations, Explanation):
        explanations = [explanations]
    aligned = total = 0
    for e in explanations:
        a, t = alignment_counts(words_of(e), attention_probabilities(model, e.text))
        aligned, total = aligned + a, total + t
    return Alignment(aligned=aligned, transitions=total, rate=aligned / total if total else float("nan"),
                     chance=1.0 / model.num_heads)
