"""Sentence sets for a study: texts, templates with slots and word lists, or the paper's tasks.

Every :class:`SentenceInstance` keeps its slot values (and their labels, e.g. the
subject's number), one role per token (which position is which slot; special tokens are
their own role, fixed template words are the word itself, ``the_2`` for a repeat) and a
sentence type (the labels joined, ``sing_plur``). Its QoI may depend on them:
:class:`ContrastBy` orients ``TokenContrast(correct, wrong)`` by a slot's label, so a
positive ``q`` means the model is right; :class:`PerSentence` wraps any function of the
instance that returns a QoI. A plain callable is a QoI itself (``(outputs) -> Tensor[B]``,
as everywhere else in the library), the same for every sentence.

Templates: ``"the {subject} that the {attractor} {verb} [MASK] happy ."`` with word lists
``{"subject": {"sing": [...], "plur": [...]}, "verb": [...]}`` (a plain list has no
label). ``n=None`` takes every combination (slot order); ``n=k`` samples ``k`` distinct
combinations with ``random.Random(seed)``. Every filler must be one token in context, so
that all sentences of the template share one token layout (the fixed-layout rule of the
paper's tasks); a filler that is not gets an :class:`InputError` naming it and its pieces.

Sentences the tokenizer cannot tell apart (two emoji that both become ``[UNK]``, or one
text pasted twice) would be the same input counted twice: templates and pasted texts keep
the first of each and say how many were dropped (:class:`DuplicateSentencesWarning`).
"""

from __future__ import annotations

import itertools
import random
import re
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Sequence, Union

from ..errors import InputError
from ..qoi import ClassContrast, QoI, TokenContrast, as_qoi
from ..tasks.instance import SST2_NEGATIVE, SST2_POSITIVE
from ..tasks.token_roles import token_roles_batch

_SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
Words = Union[Sequence[str], Mapping[str, Sequence[str]]]


class DuplicateSentencesWarning(UserWarning):
    """Sentences with the same input ids as an earlier one were dropped from a set."""


def _drop_duplicates(items: list, ids: Sequence[Sequence[int]], text_of, tokenizer) -> list:
    """``items`` without those whose input ids repeat an earlier one's, with a warning saying how many."""
    first: dict[tuple, Any] = {}
    kept, dropped = [], []
    for item, item_ids in zip(items, ids):
        key = tuple(item_ids)
        if key in first:
            dropped.append((item, first[key]))
        else:
            first[key] = item
            kept.append(item)
    if dropped:
        item, earlier = dropped[0]
        tokens = tokenizer.convert_ids_to_tokens(list(ids[items.index(item)]))
        warnings.warn(f"{len(dropped)} of {len(items)} sentences dropped: each gives the same tokens as an earlier "
                      f"one, so it would be the same input counted twice (e.g. {text_of(earlier)!r} and "
                      f"{text_of(item)!r} are both {tokens}; the first is kept). {len(kept)} distinct sentences "
                      "remain.",
                      DuplicateSentencesWarning, stacklevel=3)
    return kept


@dataclass
class SentenceInstance:
    """One sentence of a set (plain data: it round-trips through JSON)."""

    text: str
    token_roles: tuple[str, ...]
    slots: dict[str, str] = field(default_factory=dict)  # slot -> filler word
    labels: dict[str, str] = field(default_factory=dict)  # slot -> label of its word list ("sing")
    sentence_type: str = ""
    good: str | None = None  # contrast words when the instance fixes them (tasks, ContrastBy)
    bad: str | None = None

    def role_positions(self) -> dict[str, tuple[int, ...]]:
        out: dict[str, list[int]] = {}
        for i, role in enumerate(self.token_roles):
            out.setdefault(role, []).append(i)
        return {r: tuple(p) for r, p in out.items()}

    def position(self, role: str) -> int:
        """The (first) token position of ``role``; an error lists the roles otherwise."""
        positions = self.role_positions()
        if role not in positions:
            raise InputError(f"no role {role!r} in {self.text!r}; its roles are {list(positions)}.")
        return positions[role][0]

    def role_at(self, position: int) -> str:
        return self.token_roles[position]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["token_roles"] = list(self.token_roles)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SentenceInstance":
        d = dict(d)
        d["token_roles"] = tuple(d["token_roles"])
        return cls(**d)


@dataclass(frozen=True)
class ContrastBy:
    """``TokenContrast(correct, wrong)`` chosen by the label (or word) of ``slot``.

    ``ContrastBy("subject", {"sing": ("is", "are"), "plur": ("are", "is")})``: the verb
    agrees with the subject's number, so ``q > 0`` means the model predicts correctly.
    For a decoder, ``qoi=NextTokenContrast`` (words with their leading space, " is") reads
    the next token after the sentence's last token instead of a [MASK].
    """

    slot: str
    forms: Mapping[str, tuple[str, str]]
    qoi: Callable[[str, str], QoI] = TokenContrast  # builds the QoI from (correct, wrong)

    def __call__(self, instance: SentenceInstance) -> QoI:
        good, bad = self.pair(instance)
        return self.qoi(good, bad)

    def pair(self, instance: SentenceInstance) -> tuple[str, str]:
        key = instance.labels.get(self.slot, instance.slots.get(self.slot))
        if key is None:
            raise InputError(f"ContrastBy({self.slot!r}): the sentence {instance.text!r} has no slot {self.slot!r}; "
                             f"its slots are {list(instance.slots)}.")
        if key not in self.forms:
            raise InputError(f"ContrastBy({self.slot!r}): no contrast for {key!r} (the slot's label or word); "
                             f"give one of {list(self.forms)} a (correct, wrong) pair for it.")
        good, bad = self.forms[key]
        return good, bad


@dataclass(frozen=True)
class PerSentence:
    """A QoI chosen per sentence: ``PerSentence(lambda inst: TokenContrast(...))``.

    ``fn(instance)`` returns a QoI (or a callable ``(outputs) -> Tensor[B]``). Needed because
    a plain callable passed as ``qoi`` is the QoI itself, called with the model's outputs.
    """

    fn: Callable[[SentenceInstance], Any]


QoISpec = Union[QoI, ContrastBy, PerSentence, Callable[[Any], Any], None]


class SentenceSet:
    """Instances plus how to get each one's QoI (``qoi``: a QoI or a callable
    ``(outputs) -> Tensor[B]`` for every sentence, :class:`ContrastBy` or
    :class:`PerSentence` per sentence, or None to use the instance's own ``good``/``bad``)."""

    def __init__(self, instances: Sequence[SentenceInstance], qoi: QoISpec = None, *, template: str | None = None,
                 words: Mapping[str, Any] | None = None):
        if not instances:
            raise InputError("the sentence set is empty: give at least one sentence.")
        self.instances = list(instances)
        self.template, self.words = template, dict(words) if words else None
        # one QoI for every sentence: a QoI, or a callable of the outputs (checked here, once)
        self._qoi = qoi if qoi is None or isinstance(qoi, (ContrastBy, PerSentence)) else as_qoi(qoi)
        if isinstance(qoi, ContrastBy):  # fix the contrast words in the instances (saved with them)
            for inst in self.instances:
                inst.good, inst.bad = qoi.pair(inst)

    def __len__(self) -> int:
        return len(self.instances)

    def __getitem__(self, i: int) -> SentenceInstance:
        return self.instances[i]

    def __iter__(self):
        return iter(self.instances)

    @property
    def texts(self) -> list[str]:
        return [i.text for i in self.instances]

    @property
    def roles(self) -> list[str]:
        """Every role, in order of first appearance."""
        return list(dict.fromkeys(r for inst in self.instances for r in inst.token_roles))

    def qoi(self, index: int) -> QoI:
        inst = self.instances[index]
        spec = self._qoi
        if spec is None or isinstance(spec, ContrastBy):
            if inst.good is None or inst.bad is None:
                raise InputError(f"sentence {index} ({inst.text!r}) has no QoI: give qoi= (a QoI, or a function "
                                 "of the instance such as ContrastBy('subject', {...})).")
            return (spec.qoi if isinstance(spec, ContrastBy) else TokenContrast)(inst.good, inst.bad)
        if isinstance(spec, PerSentence):
            return as_qoi(spec.fn(inst))
        return spec

    def qois(self) -> list[QoI]:
        return [self.qoi(i) for i in range(len(self))]

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def from_texts(cls, texts: Sequence[str], tokenizer, qoi: QoISpec = None, *,
                   roles: Sequence[Sequence[str]] | None = None, sentence_types: Sequence[str] | None = None
                   ) -> "SentenceSet":
        """Pasted sentences. ``roles`` (optional): one role per whitespace word of each text;
        without it each word is its own role (the word, ``the_2`` for a repeat)."""
        tokenizer = _tokenizer(tokenizer)
        texts = [t.strip() for t in texts if t and t.strip()]
        if not texts:
            raise InputError("no sentences: paste at least one (one per line).")
        texts = [_with_mask(t, tokenizer) for t in texts]
        word_roles = []
        for i, t in enumerate(texts):
            words = t.split()
            if roles is None:
                word_roles.append(_unique(words))
                continue
            if len(roles[i]) != len(words):
                raise InputError(f"sentence {i} ({t!r}) has {len(words)} words but {len(roles[i])} roles were "
                                 "given; give one role per whitespace-separated word.")
            word_roles.append(list(roles[i]))
        layouts = token_roles_batch(tokenizer, texts, word_roles)
        types = list(sentence_types) if sentence_types is not None else [""] * len(texts)
        instances = [SentenceInstance(text=t, token_roles=r, sentence_type=ty)
                     for t, (r, _ids), ty in zip(texts, layouts, types)]
        instances = _drop_duplicates(instances, [ids for _r, ids in layouts], lambda i: i.text, tokenizer)
        return cls(instances, qoi)

    @classmethod
    def from_template(cls, template: str, words: Mapping[str, Words], tokenizer, qoi: QoISpec = None, *,
                      n: int | None = None, seed: int = 0) -> "SentenceSet":
        """Fill ``{slot}`` words from ``words`` (see the module doc)."""
        tokenizer = _tokenizer(tokenizer)
        template = _with_mask(" ".join(template.split()), tokenizer)
        template_words = template.split()
        slots = []
        for w in template_words:
            inside = _SLOT.findall(w)
            if inside and not _SLOT.fullmatch(w):
                raise InputError(f"the slot in {w!r} must be a whole word of the template (write "
                                 f"{'{' + inside[0] + '}'} with spaces around it).")
            if inside:
                slots.append(inside[0])
        if not slots:
            raise InputError(f"the template {template!r} has no {{slot}}; write e.g. 'the {{subject}} [MASK] happy .'.")
        if len(set(slots)) != len(slots):
            raise InputError(f"a slot appears twice in the template: {slots}; give each slot its own name.")
        missing = [s for s in slots if s not in words]
        if missing:
            raise InputError(f"no word list for slot(s) {missing}; the word lists name {list(words)}.")
        extra = [s for s in words if s not in slots]
        if extra:
            raise InputError(f"word lists {extra} name no slot of the template (slots: {slots}).")
        choices = [_choices(s, words[s]) for s in slots]  # per slot [(label, word)]
        for s, ch in zip(slots, choices):
            for _label, word in ch:
                # byte-level BPE (GPT-2, SmolLM2) keeps " author" whole but splits "author"
                pieces = min(tokenizer.tokenize(word), tokenizer.tokenize(" " + word), key=len)
                if len(pieces) != 1:
                    raise InputError(f"slot {s!r}: the filler {word!r} is {len(pieces)} WordPieces {pieces}; every "
                                     "filler must be one token so that all sentences share one token layout. Drop it "
                                     "or pick a word the tokenizer keeps whole.")
        total = 1
        for ch in choices:
            total *= len(ch)
        if n is None:
            combos = list(itertools.product(*choices))
        else:
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise InputError(f"n must be a positive number of sentences (or None for every combination); got {n!r}.")
            if n > total:
                raise InputError(f"n={n} but the word lists make only {total} distinct sentences; ask for n <= {total}.")
            rng = random.Random(seed)
            picks = rng.sample(range(total), n)
            combos = [_nth_combo(choices, k) for k in picks]
        fixed_roles = _unique([w if not _SLOT.fullmatch(w) else "\0" for w in template_words])
        word_roles = [slot_of.group(1) if (slot_of := _SLOT.fullmatch(w)) else r
                      for w, r in zip(template_words, fixed_roles)]
        texts, metas = [], []
        for combo in combos:
            filled = dict(zip(slots, (word for _l, word in combo)))
            labels = {s: label for s, (label, _w) in zip(slots, combo) if label is not None}
            texts.append(_SLOT.sub(lambda m: filled[m.group(1)], template))
            metas.append((filled, labels))
        layouts = token_roles_batch(tokenizer, texts, [word_roles] * len(texts))
        instances = []
        reference = None
        for text, (filled, labels), (roles, _ids) in zip(texts, metas, layouts):
            for s in slots:
                if roles.count(s) != 1:
                    pieces = [tokenizer.convert_ids_to_tokens(i) for i, r in zip(_ids, roles) if r == s]
                    raise InputError(f"slot {s!r}: the filler {filled[s]!r} is {len(pieces)} tokens {pieces} in the "
                                     f"sentence {text!r}; every filler must be one token in context.")
            if reference is None:
                reference = roles
            elif roles != reference:
                raise InputError(f"the roles of {text!r} do not align with those of the first sentence "
                                 f"({list(roles)} vs {list(reference)}); a fixed word of the template splits "
                                 "differently next to these fillers.")
            label_type = "_".join(labels[s] for s in slots if s in labels)
            instances.append(SentenceInstance(text=text, token_roles=roles, slots=filled, labels=labels,
                                              sentence_type=label_type))
        instances = _drop_duplicates(instances, [ids for _r, ids in layouts], lambda i: i.text, tokenizer)
        return cls(instances, qoi, template=template, words=words)

    @classmethod
    def from_task(cls, task: str, n: int, tokenizer, seed: int = 0, **options) -> "SentenceSet":
        """The paper's task sentences (:func:`ipyinfluence.tasks.generate`), QoI correct − wrong."""
        from ..tasks import generate

        tokenizer = _tokenizer(tokenizer)
        out = []
        for inst in generate(task, n, tokenizer, seed, **options):
            words = inst.text.split()
            slots = {}
            for w, r in zip(words, inst.word_roles):
                slots.setdefault(r, w)
            labels = dict(zip(("subject", "attractor"), inst.sentence_type.split("_"))) \
                if task != "sa" and "_" in inst.sentence_type else {}
            out.append(SentenceInstance(text=inst.text, token_roles=tuple(inst.token_roles), slots=slots,
                                        labels=labels, sentence_type=inst.sentence_type, good=inst.good,
                                        bad=inst.bad))
        qoi = ClassContrast(SST2_POSITIVE, SST2_NEGATIVE) if task == "sa" else None
        return cls(out, qoi)

    def to_dict(self) -> dict[str, Any]:
        return {"instances": [i.to_dict() for i in self.instances], "template": self.template}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], qoi: QoISpec = None) -> "SentenceSet":
        return cls([SentenceInstance.from_dict(x) for x in d["instances"]], qoi, template=d.get("template"))


def _tokenizer(tok):
    return getattr(tok, "tokenizer", tok)  # an InfluenceModel or a tokenizer


def _with_mask(text: str, tokenizer) -> str:
    mask = getattr(tokenizer, "mask_token", None)
    return text.replace("[MASK]", mask) if mask else text


def _unique(words: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for w in words:
        seen[w] = seen.get(w, 0) + 1
        out.append(w if seen[w] == 1 else f"{w}_{seen[w]}")
    return out


def _choices(slot: str, spec: Words) -> list[tuple[str | None, str]]:
    if isinstance(spec, str):
        spec = spec.split()
    if isinstance(spec, Mapping):
        out = [(str(label), w) for label, ws in spec.items() for w in (ws.split() if isinstance(ws, str) else ws)]
    else:
        out = [(None, w) for w in spec]
    if not out:
        raise InputError(f"the word list of slot {slot!r} is empty.")
    for _l, w in out:
        if not isinstance(w, str) or not w.strip() or len(w.split()) != 1:
            raise InputError(f"slot {slot!r}: filler {w!r} must be one word (no spaces).")
    return out


def _nth_combo(choices, k: int):
    out = []
    for ch in reversed(choices):
        k, r = divmod(k, len(ch))
        out.append(ch[r])
    return tuple(reversed(out))
