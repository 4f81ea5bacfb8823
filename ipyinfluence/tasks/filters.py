"""The paper's filters on task instances (Lu et al. 2021, Sec. 5).

1. The contrast words (the good and the bad verb or anaphor) are each one WordPiece, so that
   ``TokenContrast`` reads one logit each.
2. One layout per task: every instance has the same per-token role sequence, so the same
   token count and the mask at the same index. Where a template produces several layouts
   (a two-word predicate "is tall" against "laughs", "taxi driver", a word split into pieces)
   the most common layout is kept. Fixed length alone would not do: "… admire ##s laughs" and
   "… likes is tall" have the same length but the verb at different positions.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

from .instance import Instance
from .token_roles import is_single_piece


def single_piece_contrast(instances: Sequence[Instance], tokenizer) -> list[Instance]:
    cache: dict[str, bool] = {}

    def single(word: str) -> bool:
        if word not in cache:
            cache[word] = is_single_piece(tokenizer, word)
        return cache[word]

    return [x for x in instances if single(x.good) and single(x.bad)]


def most_common_layout(instances: Sequence[Instance]) -> tuple[str, ...] | None:
    """The token-role sequence most instances share (first seen wins a tie); None if empty."""
    counts = Counter(x.token_roles for x in instances)
    return max(counts, key=counts.__getitem__) if counts else None  # max keeps the first of equals


def fixed_layout(instances: Sequence[Instance]) -> list[Instance]:
    layout = most_common_layout(instances)
    return [x for x in instances if x.token_roles == layout]


def paper_filters(instances: Sequence[Instance], tokenizer) -> list[Instance]:
    return fixed_layout(single_piece_contrast(instances, tokenizer))
