"""The paper's tasks (Table 1 columns) and ``generate``."""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from . import marvin_linzen, opensesame
from .filters import paper_filters
from .instance import Instance
from .sampling import interleave, per_type_counts, sample_evenly
from .sentence_pair import masked_instances
from .sst2 import load_sst2
from .token_roles import is_single_piece

NUMBER_TYPES = ("sing_sing", "sing_plur", "plur_sing", "plur_plur")  # subject number _ attractor number
GENDER_TYPES = ("masc_masc", "masc_fem", "fem_masc", "fem_fem")  # subject gender _ attractor gender
LABEL_TYPES = ("positive", "negative")


@dataclass(frozen=True)
class TaskSpec:
    name: str
    description: str
    source: str  # where the templates / data come from
    model_task: str  # the model head it needs: "masked-lm" or "classification"
    sentence_types: tuple[str, ...]
    example: str


TASKS: dict[str, TaskSpec] = {t.name: t for t in (
    TaskSpec("sva-obj", "subject-verb agreement across an object relative clause",
             "Marvin & Linzen 2018, obj_rel_across_anim", "masked-lm", NUMBER_TYPES,
             "the author that the guards like [MASK] tall"),
    TaskSpec("sva-subj", "subject-verb agreement across a subject relative clause",
             "Marvin & Linzen 2018, subj_rel", "masked-lm", NUMBER_TYPES, "the author that likes the guards [MASK] tall"),
    TaskSpec("sva-wsc", "subject-verb agreement in a sentential complement (within sentence complement)",
             "Marvin & Linzen 2018, sent_comp", "masked-lm", NUMBER_TYPES, "the mechanics said the author [MASK] tall"),
    TaskSpec("sva-app", "subject-verb agreement across a prepositional phrase",
             "Marvin & Linzen 2018, prep_anim", "masked-lm", NUMBER_TYPES, "the author near the guards [MASK] tall"),
    TaskSpec("ra-number", "reflexive anaphora, number (himself/herself vs themselves)",
             "Marvin & Linzen 2018, reflexives_across", "masked-lm", NUMBER_TYPES,
             "the author that the guards like hurt [MASK]"),
    TaskSpec("ra-gender", "reflexive anaphora, gender (himself vs herself)",
             "Lin et al. 2019 (Open Sesame), refl.3 / refl.4", "masked-lm", GENDER_TYPES,
             "your wife who your brother will hurt will clean [MASK]"),
    TaskSpec("sa", "sentiment analysis, SST-2 validation sentences of at most 17 WordPieces",
             "GLUE SST-2", "classification", LABEL_TYPES, "it 's a charming and often affecting journey ."),
)}


def generate(task: str, n: int | None, tokenizer, seed: int = 0, *, case: str | None = None,
             path: str | Path | None = None, max_tokens: int = 17) -> list[Instance]:
    """``n`` instances of ``task``, the sentence types equally represented, reproducible by ``seed``.

    All instances pass the paper's filters under ``tokenizer`` (a fast Hugging Face tokenizer):
    single-WordPiece contrast words and one token layout (hence one length) per task. The result
    interleaves the types, so any prefix is balanced as well. ``n=None`` returns every filtered
    instance of the Marvin & Linzen tasks and of SA, grouped by type (not of ``ra-gender``, whose
    space is millions of sentences).

    ``case`` picks the Open Sesame template for ``ra-gender`` (``obj_rel`` by default,
    ``subj_rel``, ``main_obj``). ``path``/``max_tokens`` are for ``sa`` (see :func:`load_sst2`).
    """
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; the tasks are {list(TASKS)}.")
    if case is not None and task != "ra-gender":
        raise InputError(f"case= only applies to 'ra-gender' (its Open Sesame template), not to {task!r}.")
    if n is not None and n < 0:
        raise InputError(f"n must be a number of instances >= 0 (or None for all), not {n}.")
    rng = random.Random(seed)
    if task == "ra-gender":
        return _open_sesame(n, tokenizer, rng, case or opensesame.DEFAULT_CASE)
    pool = filtered_instances(task, tokenizer, path=path, max_tokens=max_tokens)
    pools = {t: [x for x in pool if x.sentence_type == t] for t in TASKS[task].sentence_types}
    if n is None:
        return [x for group in pools.values() for x in group]
    return sample_evenly(pools, n, rng, task)


def filtered_instances(task: str, tokenizer, *, path: str | Path | None = None, max_tokens: int = 17) -> list[Instance]:
    """Every instance of a Marvin & Linzen task that passes the filters (or the SA sentences), in source order."""
    if task == "sa":
        return load_sst2(path, tokenizer, max_tokens=max_tokens)
    if task not in marvin_linzen.CASE_OF_TASK:
        raise InputError(f"filtered_instances lists the Marvin & Linzen tasks and 'sa', not {task!r}.")
    return list(_filtered_marvin_linzen(task, tokenizer))


@functools.lru_cache(maxsize=16)
def _filtered_marvin_linzen(task: str, tokenizer) -> tuple[Instance, ...]:
    # Tokenizing a template's ~10^4 pairs takes ~1 s; generate() is called once per seed / n.
    # Tokenizers hash by identity, and Instances are frozen, so sharing the tuple is safe.
    return tuple(paper_filters(all_instances(task, tokenizer), tokenizer))


def all_instances(task: str, tokenizer) -> list[Instance]:
    """Every pair of a Marvin & Linzen task as an instance, before the filters."""
    case = marvin_linzen.CASE_OF_TASK[task]
    return masked_instances(task, case, list(marvin_linzen.sentence_pairs(case)), tokenizer)


def _open_sesame(n: int | None, tokenizer, rng: random.Random, case: str) -> list[Instance]:
    if n is None:
        raise InputError("ra-gender samples a space of millions of sentences; give n.")
    if case not in opensesame.TEMPLATES:
        raise InputError(f"unknown ra-gender case {case!r}; the Open Sesame templates are {list(opensesame.TEMPLATES)}.")
    for anaphor in ("himself", "herself"):
        if not is_single_piece(tokenizer, anaphor):
            raise InputError(f"the contrast word {anaphor!r} is several pieces under this tokenizer; "
                             "ra-gender needs a tokenizer that keeps himself/herself whole.")
    # Sampling only one-piece words gives every sentence the template's one layout (the filters).
    keep = lambda word: is_single_piece(tokenizer, word)  # noqa: E731
    wanted = per_type_counts(n, GENDER_TYPES)
    groups = []
    for sentence_type in GENDER_TYPES:
        subject, attractor = sentence_type.split("_")
        try:
            pairs = opensesame.sample_pairs(case, subject, attractor, wanted[sentence_type], rng, keep)
        except ValueError as err:
            raise InputError(f"ra-gender: {err}") from None
        groups.append(masked_instances("ra-gender", case, pairs, tokenizer))
    out = interleave(groups)
    layouts = {x.token_roles for x in out}
    if len(layouts) > 1:  # only if a word kept whole on its own were split in context
        raise InputError(f"ra-gender: the sampled sentences have {len(layouts)} token layouts under this "
                         "tokenizer, not one.")
    return out
