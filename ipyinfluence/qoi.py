"""Quantities of interest (SPEC §2): model outputs -> one scalar per batch row.

A QoI is bound to a model and a tokenised text before use (``bind``), which is where
bad input is caught: no [MASK], a contrast word of several WordPieces, a QoI that does
not fit the model head. Any callable ``(ModelOutputs) -> Tensor[B]`` is a QoI too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence, Union

import torch

from .errors import QoIError
from .output_heads import ModelOutputs
from .model import Encoded, InfluenceModel


@dataclass
class BoundQoI:
    """A QoI fixed to one model and one text."""

    fn: Callable[[ModelOutputs], torch.Tensor]
    description: str
    readout_position: int | None = None  # excluded from the sources (SPEC §4)

    def __call__(self, outputs: ModelOutputs) -> torch.Tensor:
        q = self.fn(outputs)
        if q.dim() != 1:
            raise QoIError(f"the QoI must give one scalar per batch row (shape [B]); it gave {tuple(q.shape)}.")
        return q


class QoI:
    def bind(self, model: InfluenceModel, encoded: Encoded) -> BoundQoI:  # pragma: no cover - interface
        raise NotImplementedError

    def _need(self, model: InfluenceModel, task: str) -> None:
        if model.task != task:
            raise QoIError(
                f"{type(self).__name__} needs a {task} model, but {model.name} is a {model.task} model; "
                + {"masked-lm": "use ClassContrast/ClassLogit for classifiers or EmbeddingSimilarity for encoders.",
                   "classification": "use TokenContrast for masked LMs or EmbeddingSimilarity for encoders.",
                   "encoder": ""}.get(task, "")
            )


@dataclass
class TokenContrast(QoI):
    """``logit[position, good] − logit[position, bad]`` for masked LMs.

    ``position`` defaults to the single [MASK] of the text.
    """

    good: str
    bad: str
    position: int | None = None

    def bind(self, model: InfluenceModel, encoded: Encoded) -> BoundQoI:
        self._need(model, "masked-lm")
        good = model.token_id(self.good, "the contrast word")
        bad = model.token_id(self.bad, "the contrast word")
        if good == bad:
            raise QoIError(f"the contrast words {self.good!r} and {self.bad!r} are the same token.")
        pos = self.position
        if pos is None:
            mask_id = getattr(model.tokenizer, "mask_token_id", None)
            masks = [i for i, t in enumerate(encoded.input_ids) if t == mask_id]
            mask = model.mask_token or "[MASK]"
            if not masks:
                raise QoIError(f"TokenContrast needs a {mask} in the text to read the prediction at; "
                               f"add one (e.g. 'the author {mask} happy .') or pass position=.")
            if len(masks) > 1:
                raise QoIError(f"the text has {len(masks)} {mask} tokens (at positions {masks}); keep one, "
                               "or pass position= to say which to read.")
            pos = masks[0]
        if not -len(encoded) <= pos < len(encoded):
            raise QoIError(f"position {pos} is outside the {len(encoded)} tokens of the text.")
        pos %= len(encoded)

        def fn(out: ModelOutputs) -> torch.Tensor:
            logits = out.token_logits(pos)
            return logits[:, good] - logits[:, bad]

        return BoundQoI(fn, f"logit[{pos}, {self.good}] − logit[{pos}, {self.bad}]", readout_position=pos)


def _class_index(model: InfluenceModel, c: Union[int, str]) -> int:
    labels = model.labels
    if isinstance(c, str):
        lowered = [l.lower() for l in labels]
        if c.lower() in lowered:
            return lowered.index(c.lower())
        raise QoIError(f"class {c!r} is not one of the model's labels {labels}.")
    if not 0 <= int(c) < len(labels):
        raise QoIError(f"class index {c} is outside the model's {len(labels)} classes {labels}.")
    return int(c)


@dataclass
class ClassContrast(QoI):
    """``logit[a] − logit[b]`` for sequence classifiers (a, b: index or label name)."""

    a: Union[int, str]
    b: Union[int, str]

    def bind(self, model: InfluenceModel, encoded: Encoded) -> BoundQoI:
        self._need(model, "classification")
        a, b = _class_index(model, self.a), _class_index(model, self.b)
        if a == b:
            raise QoIError("ClassContrast needs two different classes.")
        names = model.labels
        return BoundQoI(lambda out: out.logits[:, a] - out.logits[:, b], f"logit[{names[a]}] − logit[{names[b]}]")


@dataclass
class ClassLogit(QoI):
    """``logit[c]`` for sequence classifiers."""

    c: Union[int, str]

    def bind(self, model: InfluenceModel, encoded: Encoded) -> BoundQoI:
        self._need(model, "classification")
        c = _class_index(model, self.c)
        return BoundQoI(lambda out: out.logits[:, c], f"logit[{model.labels[c]}]")


class EmbeddingSimilarity(QoI):
    """Cosine between the pooled sentence vector and a fixed reference.

    ``reference`` is a sentence (encoded once by the same model, at the real input) or a
    vector of the model's hidden size. Pooling follows the model's sentence-transformers
    config (mean over tokens by default; a single text has no padding).
    """

    def __init__(self, reference: Union[str, Sequence[float], torch.Tensor]):
        self.reference = reference

    def __repr__(self) -> str:
        ref = self.reference if isinstance(self.reference, str) else f"<vector {len(self.reference)}>"
        return f"EmbeddingSimilarity({ref!r})"

    def bind(self, model: InfluenceModel, encoded: Encoded) -> BoundQoI:
        if model.task == "classification":
            raise QoIError("EmbeddingSimilarity needs an encoder (or masked-LM) model; this is a classifier: "
                           "use ClassContrast.")
        if isinstance(self.reference, str):
            with torch.no_grad():
                ref = model.run(self.reference).sentence_embedding[0].detach()
            label = repr(self.reference)
        else:
            ref = torch.as_tensor(self.reference, dtype=model.dtype, device=model.device).reshape(-1)
            label = f"a vector of size {ref.numel()}"
        if ref.numel() != model.weights.hidden_size:
            raise QoIError(f"the reference vector has {ref.numel()} entries; the model's sentence vectors have "
                           f"{model.weights.hidden_size}.")
        if float(ref.norm()) == 0.0:
            raise QoIError("the reference vector is zero; cosine similarity is undefined.")

        def fn(out: ModelOutputs) -> torch.Tensor:
            return torch.nn.functional.cosine_similarity(out.sentence_embedding, ref.unsqueeze(0), dim=-1)

        return BoundQoI(fn, f"cos(sentence, {label})")


class CallableQoI(QoI):
    """Wraps any ``(ModelOutputs) -> Tensor[B]``."""

    def __init__(self, fn: Callable[[ModelOutputs], torch.Tensor], description: str | None = None,
                 readout_position: int | None = None):
        self.fn, self.description, self.readout_position = fn, description, readout_position

    def bind(self, model: InfluenceModel, encoded: Encoded) -> BoundQoI:
        return BoundQoI(self.fn, self.description or getattr(self.fn, "__name__", "custom QoI"), self.readout_position)


def as_qoi(qoi) -> QoI:
    if isinstance(qoi, QoI):
        return qoi
    if callable(qoi):
        return CallableQoI(qoi)
    raise QoIError(f"{qoi!r} is not a QoI: pass TokenContrast, ClassContrast, ClassLogit, EmbeddingSimilarity "
                   "or a callable (outputs) -> Tensor[B].")
