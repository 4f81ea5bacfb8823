"""What the decoder readers share: the weights container, norms and rotary tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from ..blocks.norms import Norm
from ..blocks.pre_ln import DecoderEmbedding, DecoderLayer, Rotary
from ..errors import UnsupportedModelError


@dataclass
class DecoderWeights:
    family: str
    embeddings: DecoderEmbedding
    layers: list[DecoderLayer]
    num_heads: int
    hidden_size: int
    head: Callable[[torch.Tensor], torch.Tensor] = field(repr=False)  # h^L -> logits (final norm included)
    causal = True

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def num_kv_heads(self) -> int:
        return self.layers[0].num_kv_heads

    @property
    def head_size(self) -> int:
        return self.layers[0].head_size


def rms_norm(module: nn.Module, offset: float = 0.0) -> Norm:
    """An HF RMSNorm module (``weight`` and ``variance_epsilon`` or ``eps``); Gemma scales by ``1 + w``."""
    eps = getattr(module, "variance_epsilon", getattr(module, "eps", None))
    w = module.weight if offset == 0 else module.weight + offset
    return Norm(w, None, float(eps), centred=False)


def layer_norm(module: nn.LayerNorm) -> Norm:
    return Norm(module.weight, module.bias, float(module.eps), centred=True)


def rotary_tables(module: nn.Module, layer_type: str | None = None) -> Rotary:
    """The model's own rotary module (any scaling rule), memoised per length, dtype and device."""
    memo: dict = {}

    def tables(n: int, dtype: torch.dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
        key = (n, dtype, str(device))
        if key not in memo:
            x = torch.zeros(1, n, 1, dtype=torch.float32, device=device)
            pos = torch.arange(n, device=device)[None]
            with torch.no_grad():
                cos, sin = module(x, pos) if layer_type is None else module(x, pos, layer_type)
            memo.clear()  # one length at a time is all a run needs
            memo[key] = (cos[0].to(dtype), sin[0].to(dtype))
        return memo[key]

    return Rotary(tables)


def layer_window(config, i: int) -> int | None:
    """The sliding window of layer ``i``, or None (full causal attention)."""
    types = getattr(config, "layer_types", None)
    window = getattr(config, "sliding_window", None)
    if types is not None:
        return window if types[i] == "sliding_attention" else None
    return window


def refuse_softcap(config, family: str) -> None:
    if getattr(config, "attn_logit_softcapping", None):
        raise UnsupportedModelError(f"{family}: attention logit soft-capping is not modelled by ipyinfluence.")
