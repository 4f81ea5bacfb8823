"""Llama-family decoders: Llama (SmolLM2, TinyLlama, Llama 3), Qwen2 (attention biases)
and Qwen3 (QK-norm). RMSNorm, rotary, grouped-query attention, SwiGLU, tied or untied head."""

from __future__ import annotations

from torch import nn

from ..blocks.pre_ln import DecoderEmbedding, DecoderLayer
from .common import DecoderWeights, layer_window, refuse_softcap, rms_norm, rotary_tables


def read(model: nn.Module) -> DecoderWeights:
    cfg, base = model.config, model.model
    refuse_softcap(cfg, cfg.model_type)
    rotary = rotary_tables(base.rotary_emb)
    layers = []
    for i, layer in enumerate(base.layers):
        att, mlp = layer.self_attn, layer.mlp
        qn = getattr(att, "q_norm", None)
        layers.append(DecoderLayer(
            attn_norm=rms_norm(layer.input_layernorm),
            wq=att.q_proj.weight, bq=att.q_proj.bias, wk=att.k_proj.weight, bk=att.k_proj.bias,
            wv=att.v_proj.weight, bv=att.v_proj.bias, wo=att.o_proj.weight, bo=att.o_proj.bias,
            num_heads=cfg.num_attention_heads, num_kv_heads=cfg.num_key_value_heads, scale=float(att.scaling),
            mlp_norm=rms_norm(layer.post_attention_layernorm),
            w_up=mlp.up_proj.weight, b_up=mlp.up_proj.bias, w_down=mlp.down_proj.weight, b_down=mlp.down_proj.bias,
            activation=mlp.act_fn, w_gate=mlp.gate_proj.weight, b_gate=mlp.gate_proj.bias,
            q_norm=rms_norm(qn) if qn is not None else None,
            k_norm=rms_norm(att.k_norm) if qn is not None else None,
            rotary=rotary, window=layer_window(cfg, i),
        ))
    final = base.norm
    emb = DecoderEmbedding(word=base.embed_tokens.weight, max_positions=int(cfg.max_position_embeddings))
    return DecoderWeights(family=cfg.model_type, embeddings=emb, layers=layers, num_heads=cfg.num_attention_heads,
                          hidden_size=cfg.hidden_size, head=lambda h: model.lm_head(final(h)))
