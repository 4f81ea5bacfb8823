"""GPT-2: LayerNorm, learned absolute positions (added, outside the interpolation), Conv1D
weights (stored input × output, so transposed here) and a fused QKV projection."""

from __future__ import annotations

import math

from torch import nn

from ..blocks.pre_ln import DecoderEmbedding, DecoderLayer
from .common import DecoderWeights, layer_norm


def read(model: nn.Module) -> DecoderWeights:
    cfg, base = model.config, model.transformer
    h, heads = cfg.n_embd, cfg.n_head
    layers = []
    for i, block in enumerate(base.h):
        att, mlp = block.attn, block.mlp
        w_qkv, b_qkv = att.c_attn.weight, att.c_attn.bias  # (H, 3H): Conv1D is x @ W + b
        scale = 1.0 / math.sqrt(h // heads) if att.scale_attn_weights else 1.0
        if att.scale_attn_by_inverse_layer_idx:
            scale /= float(i + 1)
        layers.append(DecoderLayer(
            attn_norm=layer_norm(block.ln_1),
            wq=w_qkv[:, :h].t(), bq=b_qkv[:h], wk=w_qkv[:, h:2 * h].t(), bk=b_qkv[h:2 * h],
            wv=w_qkv[:, 2 * h:].t(), bv=b_qkv[2 * h:], wo=att.c_proj.weight.t(), bo=att.c_proj.bias,
            num_heads=heads, num_kv_heads=heads, scale=scale,
            mlp_norm=layer_norm(block.ln_2),
            w_up=mlp.c_fc.weight.t(), b_up=mlp.c_fc.bias, w_down=mlp.c_proj.weight.t(), b_down=mlp.c_proj.bias,
            activation=mlp.act,
        ))
    emb = DecoderEmbedding(word=base.wte.weight, position=base.wpe.weight, max_positions=int(cfg.n_positions))
    final = base.ln_f
    return DecoderWeights(family="gpt2", embeddings=emb, layers=layers, num_heads=heads, hidden_size=h,
                          head=lambda x: model.lm_head(final(x)))
