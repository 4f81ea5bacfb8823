"""Per-token template roles and the single-WordPiece test, under a given tokenizer."""

from __future__ import annotations

import bisect
import re
from typing import Sequence

from ..errors import InputError

_WORD = re.compile(r"\S+")


def mask_token_of(tokenizer) -> str:
    mask = getattr(tokenizer, "mask_token", None)
    if not mask:
        raise InputError("the tokenizer has no mask token; the SVA/RA tasks need a masked-LM tokenizer.")
    return mask


def is_single_piece(tokenizer, word: str) -> bool:
    """The engine's rule (``InfluenceModel.token_id``): the word tokenizes to exactly one piece."""
    return len(tokenizer.tokenize(word)) == 1


def token_roles_batch(tokenizer, texts: Sequence[str], word_roles: Sequence[Sequence[str]]
                      ) -> list[tuple[tuple[str, ...], list[int]]]:
    """``(roles, input_ids)`` per text: each text's word roles spread over its tokens.

    Special tokens get their own name as role (e.g. "[CLS]").

    Words are whitespace-separated; every piece of a word gets the word's role. Uses the fast
    tokenizer's character offsets, so it also holds for tokenizers whose pieces depend on the
    preceding space (RoBERTa).
    """
    if not getattr(tokenizer, "is_fast", False):
        raise InputError("task generation needs a fast tokenizer (character offsets); load it with "
                         "AutoTokenizer.from_pretrained(name, use_fast=True).")
    # The wrapper's call (it sets padding/truncation off), then its Rust encodings: tokens and offsets.
    encodings = tokenizer(list(texts), return_offsets_mapping=True).encodings
    out: list[tuple[tuple[str, ...], list[int]]] = []
    for text, roles, encoding in zip(texts, word_roles, encodings):
        starts = [m.start() for m in _WORD.finditer(text)]
        if len(starts) != len(roles):
            raise ValueError(f"{len(roles)} roles for the {len(starts)} words of {text!r}")
        row_roles = []
        for token, (start, end) in zip(encoding.tokens, encoding.offsets):
            if end == start:  # added special tokens ([CLS], [SEP]) cover no characters of the text
                row_roles.append(token)
            else:  # the word whose first character is at or before the token's (skipping a leading space)
                row_roles.append(roles[bisect.bisect_right(starts, start + (text[start] == " ")) - 1])
        out.append((tuple(row_roles), list(encoding.ids)))
    return out
