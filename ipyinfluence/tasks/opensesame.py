"""Open Sesame reflexive gender templates (Lin et al. 2019), generated in code.

Three templates, told apart in the reference files by where the attractor sits:

* ``obj_rel``:   "your wife who your sister will hurt will clean herself"   (attractor = words 3-4)
* ``subj_rel``:  "some wizard who can dress our man can clean himself"      (attractor = words 5-6)
* ``main_obj``:  "some girl that would cry will love your niece by herself"  (attractor = words 7-8)

The anaphor agrees in gender with the subject (words 0-1). ``refl.3`` holds sentences whose
attractor has the subject's gender, ``refl.4`` the other gender. The published files are random
samples of this space (tens of millions of sentences), so generation here samples it too.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Callable, Sequence

from . import opensesame_words as w
from .sentence_pair import SentencePair

GENDERS = ("masc", "fem")


@dataclass(frozen=True)
class Slot:
    role: str
    words: tuple[str, ...] = ()  # the choices; empty for a noun slot (its gender decides)
    gender_of: str | None = None  # "subject" or "attractor" for noun slots


@dataclass(frozen=True)
class GenderTemplate:
    case: str
    slots: tuple[Slot, ...]  # without the final anaphor, which follows the subject's gender

    @property
    def anaphor_index(self) -> int:
        return len(self.slots)

    def span(self, role: str) -> tuple[int, int]:
        """Word indices of the determiner and noun of "subject" / "attractor" (the files' spans)."""
        nouns = [i for i, slot in enumerate(self.slots) if slot.gender_of == role]
        return nouns[0] - 1, nouns[0]


_D = w.DETERMINERS
TEMPLATES: dict[str, GenderTemplate] = {t.case: t for t in (
    GenderTemplate("obj_rel", (
        Slot("subject_det", _D), Slot("subject", gender_of="subject"), Slot("complementizer", w.COMPLEMENTIZERS),
        Slot("attractor_det", _D), Slot("attractor", gender_of="attractor"),
        Slot("embedded_aux", w.AUXILIARIES), Slot("embedded_verb", w.TRANSITIVE_VERBS),
        Slot("aux", w.AUXILIARIES), Slot("verb", w.TRANSITIVE_VERBS),
    )),
    GenderTemplate("subj_rel", (
        Slot("subject_det", _D), Slot("subject", gender_of="subject"), Slot("complementizer", w.COMPLEMENTIZERS),
        Slot("embedded_aux", w.AUXILIARIES), Slot("embedded_verb", w.TRANSITIVE_VERBS),
        Slot("attractor_det", _D), Slot("attractor", gender_of="attractor"),
        Slot("aux", w.AUXILIARIES), Slot("verb", w.TRANSITIVE_VERBS),
    )),
    GenderTemplate("main_obj", (
        Slot("subject_det", _D), Slot("subject", gender_of="subject"), Slot("complementizer", w.COMPLEMENTIZERS),
        Slot("embedded_aux", w.AUXILIARIES), Slot("embedded_verb", w.INTRANSITIVE_VERBS),
        Slot("aux", w.AUXILIARIES), Slot("verb", w.TRANSITIVE_VERBS),
        Slot("attractor_det", _D), Slot("attractor", gender_of="attractor"), Slot("by", ("by",)),
    )),
)}
DEFAULT_CASE = "obj_rel"  # the same construction as Marvin & Linzen's reflexives_across


def reference_file(subject_gender: str, attractor_gender: str) -> str:
    """Which Open Sesame file a sentence type belongs to."""
    return "refl.3" if subject_gender == attractor_gender else "refl.4"


def space_size(case: str, same_gender: bool) -> int:
    """How many distinct sentences one template gives for refl.3 (``same_gender``) or refl.4."""
    template = TEMPLATES[case]
    nouns = len(w.MASCULINE_NOUNS) + len(w.FEMININE_NOUNS)
    size = 1
    for slot in template.slots:
        # The subject may be either gender; the attractor's gender is then fixed by the file.
        size *= len(slot.words) if not slot.gender_of else nouns if slot.gender_of == "subject" else nouns // 2
    return size


def render(case: str, subject_gender: str, attractor_gender: str, words: Sequence[str]) -> SentencePair:
    """The pair for one choice of words (without the anaphor, which the subject's gender gives)."""
    template = TEMPLATES[case]
    good_anaphor = w.ANAPHOR_BY_GENDER[subject_gender]
    bad_anaphor = w.ANAPHOR_BY_GENDER[_other(subject_gender)]
    roles = tuple(slot.role for slot in template.slots) + ("anaphor",)
    return SentencePair(tuple(words) + (good_anaphor,), tuple(words) + (bad_anaphor,), roles, len(words),
                        f"{subject_gender}_{attractor_gender}", reference_file(subject_gender, attractor_gender))


def parse(sentence: str) -> tuple[str, SentencePair] | None:
    """``(case, pair)`` if a template generates ``sentence`` as its grammatical sentence, else None."""
    words = sentence.split()
    for case, template in TEMPLATES.items():
        if len(words) != template.anaphor_index + 1:
            continue
        genders: dict[str, str] = {}
        for slot, word in zip(template.slots, words):
            if slot.gender_of:
                gender = next((g for g in GENDERS if word in w.NOUNS_BY_GENDER[g]), None)
                if gender is None:
                    break
                genders[slot.gender_of] = gender
            elif word not in slot.words:
                break
        else:
            if words[-1] == w.ANAPHOR_BY_GENDER[genders["subject"]]:
                return case, render(case, genders["subject"], genders["attractor"], words[:-1])
    return None


def sample_pairs(case: str, subject_gender: str, attractor_gender: str, count: int, rng: random.Random,
                 keep_word: Callable[[str], bool] = lambda word: True) -> list[SentencePair]:
    """``count`` distinct pairs drawn uniformly from the template, using only words ``keep_word`` accepts."""
    template = TEMPLATES[case]
    choices = []
    for slot in template.slots:
        words = w.NOUNS_BY_GENDER[subject_gender if slot.gender_of == "subject" else attractor_gender] \
            if slot.gender_of else slot.words
        kept = tuple(x for x in words if keep_word(x))
        if not kept:
            raise ValueError(f"no word of the {slot.role!r} slot of {case!r} passes the filter: {words}")
        choices.append(kept)
    available = math.prod(len(c) for c in choices)
    if count > available:
        raise ValueError(f"{case!r} has only {available} {subject_gender}_{attractor_gender} sentences; "
                         f"{count} were asked for.")
    seen: set[tuple[str, ...]] = set()
    out = []
    while len(out) < count:
        words = tuple(rng.choice(c) for c in choices)
        if words not in seen:  # the space is millions; repeats are rare
            seen.add(words)
            out.append(render(case, subject_gender, attractor_gender, words))
    return out


def _other(gender: str) -> str:
    return GENDERS[1 - GENDERS.index(gender)]
