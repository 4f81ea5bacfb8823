"""Gemma 3 text decoders: ``(1 + w)`` RMSNorms, √d embedding scale, sandwich norms around
attention and MLP, QK-norm, GeGLU, sliding-window layers with their own rotary base."""

from __future__ import annotations

import torch
from torch import nn

from ..blocks.pre_ln import DecoderEmbedding, DecoderLayer
from .common import DecoderWeights, layer_window, refuse_softcap, rms_norm, rotary_tables


def read(model: nn.Module) -> DecoderWeights:
    cfg, base = model.config, model.model
    refuse_softcap(cfg, "gemma3")
    layers = []
    for i, layer in enumerate(base.layers):
        att, mlp = layer.self_attn, layer.mlp
        kind = cfg.layer_types[i]
        layers.append(DecoderLayer(
            attn_norm=rms_norm(layer.input_layernorm, 1.0),
            wq=att.q_proj.weight, bq=att.q_proj.bias, wk=att.k_proj.weight, bk=att.k_proj.bias,
            wv=att.v_proj.weight, bv=att.v_proj.bias, wo=att.o_proj.weight, bo=att.o_proj.bias,
            num_heads=cfg.num_attention_heads, num_kv_heads=cfg.num_key_value_heads, scale=float(att.scaling),
            mlp_norm=rms_norm(layer.pre_feedforward_layernorm, 1.0),
            w_up=mlp.up_proj.weight, b_up=None, w_down=mlp.down_proj.weight, b_down=None,
            activation=mlp.act_fn, w_gate=mlp.gate_proj.weight, b_gate=None,
            q_norm=rms_norm(att.q_norm, 1.0), k_norm=rms_norm(att.k_norm, 1.0),
            rotary=rotary_tables(base.rotary_emb, kind), window=layer_window(cfg, i),
            out_norm=rms_norm(layer.post_attention_layernorm, 1.0),
            mlp_out_norm=rms_norm(layer.post_feedforward_layernorm, 1.0),
        ))
    word = base.embed_tokens.weight
    scale = float(torch.tensor(cfg.hidden_size ** 0.5, dtype=word.dtype))  # HF casts √d to the weights' dtype
    emb = DecoderEmbedding(word=word, scale=scale, max_positions=int(cfg.max_position_embeddings))
    final, cap = base.norm, getattr(cfg, "final_logit_softcapping", None)

    def head(h: torch.Tensor) -> torch.Tensor:
        logits = model.lm_head(final(h))
        return logits if not cap else torch.tanh(logits / cap) * cap

    return DecoderWeights(family="gemma3_text", embeddings=emb, layers=layers, num_heads=cfg.num_attention_heads,
                          hidden_size=cfg.hidden_size, head=head)
