"""A grammatical / ungrammatical sentence pair that differs in one word, and its masked instance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .instance import Instance
from .token_roles import mask_token_of, token_roles_batch


@dataclass(frozen=True)
class SentencePair:
    """Two sentences, as word tuples, equal except at ``target`` (the verb or anaphor)."""

    good_words: tuple[str, ...]
    bad_words: tuple[str, ...]
    word_roles: tuple[str, ...]
    target: int  # word index of the agreeing word
    sentence_type: str  # "sing_plur", "masc_fem", ...
    source_type: str  # the reference's label (LM_syneval type, "refl.3"/"refl.4")

    @property
    def good(self) -> str:
        return " ".join(self.good_words)

    @property
    def bad(self) -> str:
        return " ".join(self.bad_words)


def masked_instances(task: str, case: str, pairs: Sequence[SentencePair], tokenizer) -> list[Instance]:
    """One :class:`Instance` per pair: the good sentence with its target word masked."""
    mask = mask_token_of(tokenizer)
    texts = [" ".join(p.good_words[: p.target] + (mask,) + p.good_words[p.target + 1:]) for p in pairs]
    tokenized = token_roles_batch(tokenizer, texts, [p.word_roles for p in pairs])
    out = []
    for pair, text, (roles, ids) in zip(pairs, texts, tokenized):
        mask_index = ids.index(tokenizer.mask_token_id)
        out.append(Instance(
            task=task, text=text, good=pair.good_words[pair.target], bad=pair.bad_words[pair.target], case=case,
            sentence_type=pair.sentence_type, token_roles=roles, word_roles=pair.word_roles, mask_index=mask_index,
            good_sentence=pair.good, bad_sentence=pair.bad, source_type=pair.source_type,
        ))
    return out

