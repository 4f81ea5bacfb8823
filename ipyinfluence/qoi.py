"""Quantities of interest (docs/method.md §2): model outputs -> one scalar per batch row.

A QoI is bound to a model and a tokenised text before use (``bind``), which is where
bad input is caught: no [MASK], a contrast word of several WordPieces, a QoI that does
not fit the model head. Any callable ``(ModelOutputs) -> Tensor[B]`` is a QoI too.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Callable, Sequence, Union

import torch

from .errors import InfluenceError, QoIError
from .output_heads import ModelOutputs
from .model import Encoded, InfluenceModel


@dataclass
class BoundQoI:
    """A QoI fixed to one model and one text."""

    fn: Callable[[ModelOutputs], torch.Tensor]
    description: str
    readout_position: int | None = None  # excluded from the sources (SPEC §4)
    final_position: int | None = None  # a decoder QoI reads h^L here: every pattern ends at it (SPEC §10)

    def __call__(self, outputs: ModelOutputs) -> torch.Tensor:
        return check_qoi_output(self.fn(outputs), outputs, self.description)


def check_qoi_output(q, outputs: ModelOutputs, description: str = "the QoI") -> torch.Tensor:
    """A QoI's value must be a floating tensor of shape ``[B]`` that depends on the outputs.

    Python or numpy scalars, lists, integer tensors, a slice of the batch (``[:1]``), a
    constant or a detached tensor are refused with a :class:`QoIError` (issue 9.3):
    each would give patterns of something other than the model.
    """
    h = outputs.last_hidden_state
    batch = h.shape[0]
    what = f"the QoI {description!r}"
    if not isinstance(q, torch.Tensor):
        raise QoIError(f"{what} returned a {type(q).__module__}.{type(q).__name__}, not a torch tensor: return "
                       f"one value per batch row computed from the outputs with torch (shape [{batch}]).")
    if q.dim() != 1 or q.shape[0] != batch:
        raise QoIError(f"{what} must give one scalar per batch row, shape [{batch}]; it gave {tuple(q.shape)}"
                       + (" (a slice of the batch?)" if q.dim() == 1 else "") + ".")
    if not q.dtype.is_floating_point:
        raise QoIError(f"{what} returned a {str(q.dtype).replace('torch.', '')} tensor; it must be floating point "
                       "(the engine differentiates it).")
    if torch.is_grad_enabled() and h.requires_grad:
        used = q.requires_grad and torch.autograd.grad(q.sum(), h, retain_graph=True, allow_unused=True)[0] is not None
        if not used:
            raise QoIError(f"{what} does not depend on the model's outputs (a constant, or detached with "
                           ".detach()/.item()/numpy): compute it from the outputs with torch operations.")
    return q


def _check_word(value, what: str) -> None:
    if not isinstance(value, str):
        raise QoIError(f"{what} must be a word (a string such as 'is'); got {value!r}.")


def _check_index(value, what: str, *, allow_none: bool = False, names: bool = False) -> None:
    if value is None and allow_none:
        return
    if names and isinstance(value, str):
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        kinds = "an integer index" + (" or a label name" if names else "") + (" or None" if allow_none else "")
        raise QoIError(f"{what} must be {kinds}; got {value!r} ({type(value).__name__}).")


class QoI:
    def bind(self, model: InfluenceModel, encoded: Encoded) -> BoundQoI:  # pragma: no cover - interface
        raise NotImplementedError

    def _need(self, model: InfluenceModel, task: str) -> None:
        if model.task != task:
            fits = {"masked-lm": "TokenContrast (a [MASK] in the text)", "classification": "ClassContrast or ClassLogit",
                    "encoder": "EmbeddingSimilarity", "causal-lm": "NextTokenContrast or NextTokenLogProb"}
            raise QoIError(f"{type(self).__name__} needs a {task} model, but {model.name} is a {model.task} model; "
                           f"use {fits.get(model.task, 'a callable QoI')}.")


@dataclass
class TokenContrast(QoI):
    """``logit[position, good] − logit[position, bad]`` for masked LMs.

    ``position`` defaults to the single [MASK] of the text.
    """

    good: str
    bad: str
    position: int | None = None

    def __post_init__(self):
        _check_word(self.good, "TokenContrast's good word")
        _check_word(self.bad, "TokenContrast's bad word")
        _check_index(self.position, "TokenContrast's position", allow_none=True)

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
        pos = int(pos) % len(encoded)

        def fn(out: ModelOutputs) -> torch.Tensor:
            logits = out.token_logits(pos)
            return logits[:, good] - logits[:, bad]

        return BoundQoI(fn, f"logit[{pos}, {self.good}] − logit[{pos}, {self.bad}]", readout_position=pos)


def _next_position(position: int, encoded: Encoded, name: str) -> int:
    if not -len(encoded) <= position < len(encoded):
        raise QoIError(f"{name}'s position {position} is outside the {len(encoded)} tokens of the text.")
    return int(position) % len(encoded)


@dataclass
class NextTokenContrast(QoI):
    """``logit[t, good] − logit[t, bad]`` for causal LMs (docs/method.md §10): the prediction of the token
    after position ``t`` (default −1, the last token). Each word must be one token of the
    model's tokenizer, leading space included where it marks one (``" are"``)."""

    good: str
    bad: str
    position: int = -1

    def __post_init__(self):
        _check_word(self.good, "NextTokenContrast's good token")
        _check_word(self.bad, "NextTokenContrast's bad token")
        _check_index(self.position, "NextTokenContrast's position")

    def bind(self, model: InfluenceModel, encoded: Encoded) -> BoundQoI:
        self._need(model, "causal-lm")
        good = model.token_id(self.good, "the contrast token")
        bad = model.token_id(self.bad, "the contrast token")
        if good == bad:
            raise QoIError(f"the contrast tokens {self.good!r} and {self.bad!r} are the same token.")
        t = _next_position(self.position, encoded, "NextTokenContrast")

        def fn(out: ModelOutputs) -> torch.Tensor:
            logits = out.token_logits(t)
            return logits[:, good] - logits[:, bad]

        return BoundQoI(fn, f"logit[{t}, {self.good!r}] − logit[{t}, {self.bad!r}]", final_position=t)


@dataclass
class NextTokenLogProb(QoI):
    """``log p(token | text[:t+1])`` for causal LMs (default t = −1, the last token; docs/method.md §10)."""

    token: str
    position: int = -1

    def __post_init__(self):
        _check_word(self.token, "NextTokenLogProb's token")
        _check_index(self.position, "NextTokenLogProb's position")

    def bind(self, model: InfluenceModel, encoded: Encoded) -> BoundQoI:
        self._need(model, "causal-lm")
        tid = model.token_id(self.token, "the token")
        t = _next_position(self.position, encoded, "NextTokenLogProb")

        def fn(out: ModelOutputs) -> torch.Tensor:
            return torch.log_softmax(out.token_logits(t), dim=-1)[:, tid]

        return BoundQoI(fn, f"log p({self.token!r} | position {t})", final_position=t)


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

    def __post_init__(self):
        _check_index(self.a, "ClassContrast's first class", names=True)
        _check_index(self.b, "ClassContrast's second class", names=True)

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

    def __post_init__(self):
        _check_index(self.c, "ClassLogit's class", names=True)

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
        if isinstance(reference, str):
            if not reference.strip():
                raise QoIError("EmbeddingSimilarity needs a reference sentence (or vector); got an empty string.")
        else:
            try:
                vec = torch.as_tensor(reference, dtype=torch.float64).reshape(-1)
            except (TypeError, ValueError, RuntimeError) as e:
                raise QoIError(f"EmbeddingSimilarity's reference must be a sentence or a vector of numbers; got "
                               f"{type(reference).__name__} {reference!r:.80}.") from None
            bad = (~torch.isfinite(vec)).nonzero().flatten().tolist()
            if bad:
                raise QoIError(f"EmbeddingSimilarity's reference vector is not finite (NaN or inf) at entries "
                               f"{bad[:10]}{' …' if len(bad) > 10 else ''}; pass finite numbers.")
        self.reference = reference

    def __repr__(self) -> str:
        ref = self.reference if isinstance(self.reference, str) else \
            f"<vector {torch.as_tensor(self.reference).numel()}>"
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
        if not bool(torch.isfinite(ref).all()):
            raise QoIError(f"the reference sentence vector of {label} is not finite (NaN or inf): the model "
                           "gives non-finite outputs; check its weights.")
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
        name = self.description or getattr(self.fn, "__name__", "custom QoI")

        def call(out: ModelOutputs):
            try:
                return self.fn(out)
            except (InfluenceError, MemoryError, torch.OutOfMemoryError):
                raise
            except Exception as e:  # the caller's code: say so, in an ipyinfluence error
                raise QoIError(f"the QoI {name!r} raised {type(e).__name__}: {e}") from e

        return BoundQoI(call, name, self.readout_position)


def as_qoi(qoi) -> QoI:
    if isinstance(qoi, QoI):
        return qoi
    if callable(qoi):
        return CallableQoI(qoi)
    raise QoIError(f"{qoi!r} is not a QoI: pass TokenContrast, ClassContrast, ClassLogit, EmbeddingSimilarity, "
                   "NextTokenContrast, NextTokenLogProb or a callable (outputs) -> Tensor[B].")
