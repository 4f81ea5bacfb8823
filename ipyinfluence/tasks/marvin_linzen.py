"""Marvin & Linzen (2018) agreement templates, generated in code from the word lists.

Each template is a sequence of slots, as in LM_syneval's ``AgreementTemplate`` rules. A slot
takes its number from the subject or the attractor (or has none). The target slot (the main
verb or the anaphor) agrees with the subject in the good sentence and takes the other number
in the bad one. Enumerating subject number × attractor number × every word choice, in slot
order, gives exactly the pairs (and their order) of LM_syneval's pickles.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterator

from . import marvin_linzen_words as w
from .sentence_pair import SentencePair

NUMBERS = ("sing", "plur")
Forms = tuple[str, str]


@dataclass(frozen=True)
class Slot:
    role: str  # template role of the slot's words
    forms: tuple[Forms, ...]  # the choices, each (singular form, plural form)
    number_of: str | None = None  # "subject", "attractor", or None: the form does not vary
    target: bool = False  # the word that must agree with the subject (masked in the instance)
    rest_role: str = ""  # target slot: role of its words that carry no number ("tall" in "is tall")


@dataclass(frozen=True)
class AgreementTemplate:
    case: str  # LM_syneval's name
    task: str  # this project's task name
    slots: tuple[Slot, ...]
    type_label: str  # LM_syneval's type label, formatted with subject= and attractor= numbers


def _fixed(role: str, word: str) -> Slot:
    return Slot(role, ((word, word),))


def _plain(role: str, words: tuple[str, ...]) -> Slot:
    return Slot(role, tuple((x, x) for x in words))


_MAIN_VERB = Slot("verb", w.MAIN_VERBS, "subject", target=True, rest_role="adjective")

TEMPLATES: dict[str, AgreementTemplate] = {t.case: t for t in (
    # the author that the guards like [laughs / is tall]
    AgreementTemplate("obj_rel_across_anim", "sva-obj", (
        _fixed("subject_det", "the"), Slot("subject", w.SUBJECT_NOUNS, "subject"), _fixed("complementizer", "that"),
        _fixed("attractor_det", "the"), Slot("attractor", w.ATTRACTOR_NOUNS, "attractor"),
        Slot("embedded_verb", w.EMBEDDED_VERBS, "attractor"), _MAIN_VERB,
    ), "{subject}_MS_MV_{attractor}_ES_EV"),
    # the author that likes the guards [laughs / is tall]
    AgreementTemplate("subj_rel", "sva-subj", (
        _fixed("subject_det", "the"), Slot("subject", w.SUBJECT_NOUNS, "subject"), _fixed("complementizer", "that"),
        Slot("embedded_verb", w.EMBEDDED_VERBS, "subject"), _fixed("attractor_det", "the"),
        Slot("attractor", w.ATTRACTOR_NOUNS, "attractor"), _MAIN_VERB,
    ), "{subject}_MS_EV_MV_{attractor}_ES"),
    # the mechanics said the author [laughs / is tall]  (the matrix subject is the attractor)
    AgreementTemplate("sent_comp", "sva-wsc", (
        _fixed("attractor_det", "the"), Slot("attractor", w.MATRIX_NOUNS, "attractor"),
        _plain("matrix_verb", w.MATRIX_VERBS), _fixed("subject_det", "the"),
        Slot("subject", w.SUBJECT_NOUNS, "subject"), _MAIN_VERB,
    ), "{subject}_MS_MV_{attractor}_BS"),
    # the author next to the guards [laughs / is tall]
    AgreementTemplate("prep_anim", "sva-app", (
        _fixed("subject_det", "the"), Slot("subject", w.SUBJECT_NOUNS, "subject"),
        _plain("preposition", w.PREPOSITIONS), _fixed("attractor_det", "the"),
        Slot("attractor", w.ATTRACTOR_NOUNS, "attractor"), _MAIN_VERB,
    ), "{subject}_MS_MV_{attractor}_ES"),
    # the author that the guards like hurt [himself / themselves]
    AgreementTemplate("reflexives_across", "ra-number", (
        _fixed("subject_det", "the"), Slot("subject", w.SUBJECT_NOUNS, "subject"), _fixed("complementizer", "that"),
        _fixed("attractor_det", "the"), Slot("attractor", w.ATTRACTOR_NOUNS, "attractor"),
        Slot("embedded_verb", w.EMBEDDED_VERBS, "attractor"), _plain("verb", w.REFLEXIVE_VERBS),
        Slot("anaphor", w.ANAPHORS, "subject", target=True),
    ), "{subject}_MS_ANPHR_{attractor}_ES_EV"),
)}

CASE_OF_TASK: dict[str, str] = {t.task: t.case for t in TEMPLATES.values()}


def sentence_pairs(case: str) -> Iterator[SentencePair]:
    """Every (good, bad) pair of a template, in LM_syneval's order (no tokenizer filter)."""
    template = TEMPLATES[case]
    for subject, attractor in itertools.product(NUMBERS, NUMBERS):
        number = {"subject": NUMBERS.index(subject), "attractor": NUMBERS.index(attractor)}
        for choice in itertools.product(*(slot.forms for slot in template.slots)):
            yield _pair(template, choice, number, subject, attractor)


def _pair(template: AgreementTemplate, choice, number: dict[str, int], subject: str, attractor: str) -> SentencePair:
    good: list[str] = []
    bad: list[str] = []
    roles: list[str] = []
    target = -1
    for slot, forms in zip(template.slots, choice):
        n = number[slot.number_of] if slot.number_of else 0
        good_phrase = forms[n].split()
        if not slot.target:
            good += good_phrase
            bad += good_phrase
            roles += [slot.role] * len(good_phrase)
            continue
        bad_phrase = forms[1 - n].split()
        for g, b in zip(good_phrase, bad_phrase, strict=True):
            if g != b:
                target = len(good)
            roles.append(slot.role if g != b else slot.rest_role)
            good.append(g)
            bad.append(b)
    return SentencePair(tuple(good), tuple(bad), tuple(roles), target, f"{subject}_{attractor}",
                        template.type_label.format(subject=subject, attractor=attractor))
