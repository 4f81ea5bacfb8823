"""Map a Hugging Face BERT-family model onto the neutral weights of SPEC §1.

The engine never calls the Hugging Face encoder: it reads the parameters into
:class:`EncoderWeights` (references, not copies) and runs its own decomposed forward,
which exposes every node of the influence graph. Families map as SPEC §1 says:
BERT, RoBERTa, ELECTRA and MiniLM are BERT-shaped; DistilBERT has no token types and
other module names; ALBERT repeats shared layer weights. Anything else is refused with
:class:`UnsupportedModelError` rather than approximated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from .blocks.post_ln import EmbeddingWeights, LayerWeights
from .errors import UnsupportedModelError

SUPPORTED_FAMILIES = ("bert", "roberta", "xlm-roberta", "camembert", "electra", "distilbert", "albert")


@dataclass
class EncoderWeights:
    family: str
    embeddings: EmbeddingWeights
    layers: list[LayerWeights]
    num_heads: int
    hidden_size: int
    causal = False

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_heads


def _linear(m: nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
    bias = m.bias if m.bias is not None else torch.zeros(m.out_features, dtype=m.weight.dtype, device=m.weight.device)
    return m.weight, bias


def _layer_weights(q, k, v, o, ln1, ffn_in, activation, ffn_out, ln2) -> LayerWeights:
    """A layer's weights from its modules, whatever each family calls them."""
    return LayerWeights(*_linear(q), *_linear(k), *_linear(v), *_linear(o), ln1.weight, ln1.bias, ln1.eps,
                        *_linear(ffn_in), activation, *_linear(ffn_out), ln2.weight, ln2.bias, ln2.eps)


def _bert_layer(layer: nn.Module) -> LayerWeights:
    att = layer.attention
    self_att = att.self
    pet = getattr(self_att, "position_embedding_type", "absolute")
    if pet not in (None, "absolute") or hasattr(self_att, "distance_embedding"):
        raise UnsupportedModelError(
            f"position_embedding_type={pet!r} adds relative-position terms to the attention scores, "
            "which ipyinfluence does not model; use a checkpoint with absolute positions."
        )
    return _layer_weights(self_att.query, self_att.key, self_att.value, att.output.dense, att.output.LayerNorm,
                          layer.intermediate.dense, layer.intermediate.intermediate_act_fn, layer.output.dense,
                          layer.output.LayerNorm)


def _distilbert_layer(layer: nn.Module) -> LayerWeights:
    att = layer.attention
    return _layer_weights(att.q_lin, att.k_lin, att.v_lin, att.out_lin, layer.sa_layer_norm, layer.ffn.lin1,
                          layer.ffn.activation, layer.ffn.lin2, layer.output_layer_norm)


def _albert_layer(layer: nn.Module) -> LayerWeights:
    att = layer.attention
    return _layer_weights(att.query, att.key, att.value, att.dense, att.LayerNorm, layer.ffn, layer.activation,
                          layer.ffn_output, layer.full_layer_layer_norm)


def _embeddings(emb: nn.Module, project: nn.Linear | None, offset: int) -> EmbeddingWeights:
    tt = getattr(emb, "token_type_embeddings", None)
    return EmbeddingWeights(
        word=emb.word_embeddings.weight,
        position=emb.position_embeddings.weight,
        token_type=tt.weight if tt is not None else None,
        ln_weight=emb.LayerNorm.weight,
        ln_bias=emb.LayerNorm.bias,
        ln_eps=emb.LayerNorm.eps,
        project=project,
        position_offset=offset,
    )


def _refuse(model: nn.Module, family) -> None:
    from .families import DECODER_FAMILIES

    config = getattr(model, "config", None)
    kind = ""
    if getattr(config, "is_encoder_decoder", False):
        kind = " It is an encoder–decoder model, which ipyinfluence does not map."
    elif any(getattr(config, k, None) for k in ("num_experts", "num_local_experts", "n_routed_experts")):
        kind = " It is a mixture-of-experts model, which ipyinfluence does not map."
    elif getattr(config, "parallel_attn", False) or getattr(config, "use_parallel_residual", False):
        kind = " Its blocks run attention and MLP in parallel, which ipyinfluence does not map."
    raise UnsupportedModelError(
        f"model type {family!r} ({type(model).__name__}) is not supported.{kind} Supported: BERT-family "
        f"encoders ({', '.join(SUPPORTED_FAMILIES)}) and decoder LMs ({', '.join(DECODER_FAMILIES)})."
    )


def find_family(model: nn.Module) -> str:
    """The family name of a supported HF model (encoder or decoder); refuses anything else."""
    from .families import DECODER_FAMILIES

    family = getattr(getattr(model, "config", None), "model_type", None)
    if family in SUPPORTED_FAMILIES or family in DECODER_FAMILIES:
        return family
    _refuse(model, family)


def model_weights(model: nn.Module):
    """The engine's weights of any supported model: :func:`encoder_weights`, or a decoder
    family's reader (:mod:`ipyinfluence.families`)."""
    from .families import READERS

    family = find_family(model)
    if family in READERS:
        if type(model).__name__.endswith("Model") and not hasattr(model, "lm_head"):
            raise UnsupportedModelError(f"{type(model).__name__} has no language-model head: load the decoder "
                                        "with AutoModelForCausalLM (ipyinfluence explains its next-token logits).")
        return READERS[family](model)
    return encoder_weights(model)


def find_encoder(model: nn.Module) -> tuple[str, nn.Module]:
    """The family name and the base encoder module of a (possibly headed) HF model."""
    config = getattr(model, "config", None)
    family = getattr(config, "model_type", None)
    if family not in SUPPORTED_FAMILIES:
        _refuse(model, family)
    prefix = getattr(model, "base_model_prefix", family)
    base = getattr(model, prefix, model)
    return family, base


def encoder_weights(model: nn.Module) -> EncoderWeights:
    """Read the neutral weights out of a Hugging Face model (any head)."""
    family, base = find_encoder(model)
    config = model.config
    if family == "distilbert":
        emb = _embeddings(base.embeddings, None, 0)
        layers = [_distilbert_layer(l) for l in base.transformer.layer]
        heads, hidden = config.n_heads, config.dim
    elif family == "albert":
        if getattr(config, "inner_group_num", 1) != 1:
            raise UnsupportedModelError("ALBERT with inner_group_num != 1 is not supported.")
        enc = base.encoder
        emb = _embeddings(base.embeddings, enc.embedding_hidden_mapping_in, 0)
        groups = config.num_hidden_groups
        n = config.num_hidden_layers
        layers = [
            _albert_layer(enc.albert_layer_groups[int(i / (n / groups))].albert_layers[0]) for i in range(n)
        ]
        heads, hidden = config.num_attention_heads, config.hidden_size
    else:
        offset = 0
        if family in ("roberta", "xlm-roberta", "camembert"):
            offset = base.embeddings.padding_idx + 1
        project = getattr(base, "embeddings_project", None) if family == "electra" else None
        emb = _embeddings(base.embeddings, project, offset)
        layers = [_bert_layer(l) for l in base.encoder.layer]
        heads, hidden = config.num_attention_heads, config.hidden_size
        if getattr(config, "is_decoder", False) or getattr(config, "add_cross_attention", False):
            raise UnsupportedModelError("decoder / cross-attention configurations are not supported.")
    if hidden % heads:
        raise UnsupportedModelError(f"hidden size {hidden} is not divisible by {heads} heads.")
    for lw in layers:
        lw.num_heads = heads
    return EncoderWeights(family=family, embeddings=emb, layers=layers, num_heads=heads, hidden_size=hidden)
