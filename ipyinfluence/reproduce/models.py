"""``--model``: a hub id, a local folder, or a tiny random model built in code (for tests).

``tiny`` builds the head the task needs (a masked LM for SVA/RA, a classifier for SA);
``tiny-mlm`` / ``tiny-classifier`` force one. A model whose head does not fit the task is
refused with a message that names the head it needs.
"""

from __future__ import annotations

from ..errors import InputError
from ..model import InfluenceModel, load_model
from ..tasks import TASKS

TINY = {"tiny": None, "tiny-mlm": "masked-lm", "tiny-classifier": "classification"}


def model_task(task: str) -> str:
    """The head a task needs: ``"masked-lm"`` or ``"classification"``."""
    return TASKS[task].model_task


def resolved_spec(spec: str, task: str) -> str:
    """The model a task gets from ``spec`` (``tiny`` names the head), for caching and the manifest."""
    if spec == "tiny":
        return "tiny-mlm" if model_task(task) == "masked-lm" else "tiny-classifier"
    return spec


def load_task_model(spec: str, task: str, device: str = "cpu") -> InfluenceModel:
    """The model for ``task`` from ``spec`` (see module doc)."""
    spec = resolved_spec(spec, task)
    need = model_task(task)
    if spec in TINY:
        from ..tiny import tiny_model

        model = tiny_model(task=TINY[spec], device=device)
        model.name = spec
    else:
        model = load_model(spec, device=device)
    if model.task != need:
        raise InputError(f"task {task!r} needs a {need} model, but {spec!r} is a {model.task} model; "
                         f"pass a {need} checkpoint with --model (for SA inside --task all: --sa-model).")
    return model
