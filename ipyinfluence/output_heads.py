"""Model heads applied to the last hidden state ``h^L``, and the outputs a QoI reads.

The heads run only in reverse mode (the shared backward pass), so they are the Hugging
Face modules themselves, called on ``h^L``: no re-implementation to drift from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from .errors import UnsupportedModelError

TASKS = ("masked-lm", "classification", "encoder", "causal-lm")


def masked_lm_head(model: nn.Module, family: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Position-wise vocabulary logits ``(…, N, V)``."""
    if family == "distilbert":
        return lambda h: model.vocab_projector(model.vocab_layer_norm(model.activation(model.vocab_transform(h))))
    if family == "electra":
        return lambda h: model.generator_lm_head(model.generator_predictions(h))
    if family == "albert":
        return model.predictions
    if family in ("roberta", "xlm-roberta", "camembert"):
        return model.lm_head
    cls = model.cls  # BertForMaskedLM.cls, or BertForPreTraining.cls (pre-training heads)
    return cls.predictions if hasattr(cls, "seq_relationship") else cls


def classification_head(model: nn.Module, family: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Class logits ``(…, C)`` from ``h^L`` (each family pools as its own forward does)."""
    if family == "distilbert":
        return lambda h: model.classifier(torch.relu(model.pre_classifier(h[..., 0, :])))
    if family in ("roberta", "xlm-roberta", "camembert", "electra"):
        return model.classifier
    if family == "albert":
        base = model.albert
        return lambda h: model.classifier(base.pooler_activation(base.pooler(h[..., 0, :])))
    base = model.bert
    if base.pooler is None:
        raise UnsupportedModelError("this BERT classifier has no pooler; it cannot be mapped.")
    return lambda h: model.classifier(base.pooler(h))


def task_of(model: nn.Module) -> str:
    name = type(model).__name__
    if name.endswith("ForMaskedLM") or name.endswith("ForPreTraining"):
        return "masked-lm"
    if name.endswith("ForSequenceClassification"):
        return "classification"
    if name.endswith("ForCausalLM") or name.endswith("LMHeadModel"):
        return "causal-lm"
    if name.endswith("Model"):
        return "encoder"
    raise UnsupportedModelError(
        f"{name}: ipyinfluence explains masked LMs, sequence classifiers, plain encoders and causal LMs; "
        "load one of those (e.g. AutoModelForMaskedLM, AutoModelForCausalLM)."
    )


@dataclass
class ModelOutputs:
    """What a QoI sees, for a batch of ``B`` rows (one per integration step).

    ``last_hidden_state`` is ``h^L`` (B, N, H). ``logits`` is the head's output:
    (B, N, V) for a masked or causal LM, (B, C) for a classifier, None for a plain encoder.
    ``sentence_embedding`` is the pooled sentence vector (B, H) for encoders.
    Masked-LM logits are computed lazily; :meth:`token_logits` reads one position only.
    """

    last_hidden_state: torch.Tensor
    task: str
    _head: Callable[[torch.Tensor], torch.Tensor] | None = None
    _pool: Callable[[torch.Tensor], torch.Tensor] | None = None
    _cache: dict = field(default_factory=dict)

    @property
    def logits(self) -> torch.Tensor | None:
        if self._head is None:
            return None
        if "logits" not in self._cache:
            self._cache["logits"] = self._head(self.last_hidden_state)
        return self._cache["logits"]

    def token_logits(self, position: int) -> torch.Tensor:
        """Vocabulary logits at one position (B, V): the MLM head is position-wise."""
        if self.task not in ("masked-lm", "causal-lm"):
            raise UnsupportedModelError(f"token logits need a language-model head; this model is a {self.task}.")
        if "logits" in self._cache:
            return self._cache["logits"][:, position]
        return self._head(self.last_hidden_state[:, position: position + 1])[:, 0]

    @property
    def sentence_embedding(self) -> torch.Tensor:
        if self._pool is None:
            return self.last_hidden_state.mean(-2)
        return self._pool(self.last_hidden_state)
