"""Per-token template roles and the single-WordPiece test, under a given tokenizer."""

from __future__ import annotations

from typing import Sequence

from ..errors import InputError


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
    encoded = tokenizer(list(texts), return_offsets_mapping=True)
    out: list[tuple[tuple[str, ...], list[int]]] = []
    for row, (text, roles) in enumerate(zip(texts, word_roles)):
        word_of_char = _word_index_of_each_char(text)
        if max(word_of_char, default=-1) + 1 != len(roles):
            raise ValueError(f"{len(roles)} roles for the {max(word_of_char) + 1} words of {text!r}")
        ids = encoded["input_ids"][row]
        tokens = tokenizer.convert_ids_to_tokens(ids)
        row_roles = []
        for token, (start, end) in zip(tokens, encoded["offset_mapping"][row]):
            if end == start:  # added special tokens ([CLS], [SEP]) cover no characters of the text
                row_roles.append(token)
                continue
            # An offset may start on the space before a word (byte-level BPE): take its first non-space char.
            first = next((i for i in range(start, end) if word_of_char[i] >= 0), start)
            row_roles.append(roles[word_of_char[first]])
        out.append((tuple(row_roles), list(ids)))
    return out


def _word_index_of_each_char(text: str) -> list[int]:
    index, out, in_word = -1, [], False
    for char in text:
        if char.isspace():
            out.append(-1)
            in_word = False
        else:
            if not in_word:
                index += 1
                in_word = True
            out.append(index)
    return out
