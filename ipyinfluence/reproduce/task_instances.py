"""Instance lists whose every prefix is stable, so a run with a larger ``n`` resumes a smaller one.

``tasks.generate(task, n, tokenizer, seed)`` draws a balanced sample whose choice depends on
``n`` (one random stream feeds every sentence type), so ``n=4`` is not a prefix of ``n=6``.
Resuming needs instance ``i`` to be the same sentence whatever ``n`` is, hence:

* Marvin & Linzen tasks and SA: every filtered instance (``generate(task, None, ...)``),
  each sentence type shuffled once with ``random.Random(seed)``, then interleaved
  (type 1, type 2, ...), so every prefix is balanced as in ``generate``.
* ``ra-gender`` (a space of millions of sentences, not enumerable): consecutive blocks of
  :data:`GENDER_BLOCK` instances, block ``b`` being ``generate("ra-gender", GENDER_BLOCK,
  tokenizer, seed=block_seed(seed, b))``; each block is itself interleaved and balanced.

The SA quantity of interest is oriented by the gold label (``ClassContrast(label, other)``),
so that for every task ``q > 0`` means "the model is right" and the ablated accuracy of
SPEC §6 (share of ``q > 0``) is an accuracy. ``Instance.qoi()`` (positive minus negative
whatever the label) would make it the share of positive predictions instead.
"""

from __future__ import annotations

import random
from pathlib import Path

from ..errors import InputError
from ..qoi import ClassContrast, QoI
from ..tasks import TASKS, Instance, generate
from ..tasks.sampling import interleave

GENDER_BLOCK = 100  # a multiple of the 4 gender types, so each block is balanced


def block_seed(seed: int, block: int) -> int:
    return int(seed) * 1_000_003 + int(block)


def task_instances(task: str, n: int, tokenizer, seed: int = 0, sst2: str | Path | None = None) -> list[Instance]:
    """The first ``n`` instances of ``task`` in this module's stable order."""
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; the tasks are {list(TASKS)} (or 'all').")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"n must be a positive number of instances; got {n!r}.")
    if task == "ra-gender":
        out: list[Instance] = []
        block = 0
        while len(out) < n:
            out += generate(task, GENDER_BLOCK, tokenizer, seed=block_seed(seed, block))
            block += 1
        return out[:n]
    kwargs = {"path": sst2} if task == "sa" and sst2 is not None else {}
    pool = generate(task, None, tokenizer, seed=seed, **kwargs)
    rng = random.Random(seed)
    groups = []
    for sentence_type in TASKS[task].sentence_types:
        group = [x for x in pool if x.sentence_type == sentence_type]
        rng.shuffle(group)
        groups.append(group)
    ordered = interleave(groups)
    if n > len(ordered):
        raise InputError(f"task {task!r} has only {len(ordered)} instances after the paper's filters under this "
                         f"tokenizer; ask for n <= {len(ordered)}.")
    return ordered[:n]


def task_qoi(instance: Instance) -> QoI:
    """The instance's QoI with ``q > 0`` meaning a correct prediction (see module doc)."""
    if instance.task == "sa":
        if instance.label not in (0, 1):
            raise InputError(f"SA instance {instance.text!r} has no gold label (0/1): {instance.label!r}.")
        return ClassContrast(instance.label, 1 - instance.label)
    return instance.qoi()
