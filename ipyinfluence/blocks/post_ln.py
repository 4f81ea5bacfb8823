"""The BERT-family block (docs/method.md §1): post-LayerNorm, ``u = LN1(x + W_O·heads + b_O)``,
``h = LN2(u + FFN(u))``, and the embedding ``h^0 = project(LN(word + position + type))``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .norms import NormCache, activation_derivative, norm_cache, norm_jvp, norm_vjp
from .tensors import at, merge_heads, split_heads


@dataclass
class LayerCache:
    q: torch.Tensor  # (S, A, N, d)
    k: torch.Tensor
    v: torch.Tensor
    probs: torch.Tensor  # (S, A, N, N), rows = queries
    ln1: NormCache
    act_grad: torch.Tensor  # (S, N, I) activation derivative at the FFN pre-activation
    ln2: NormCache


@dataclass
class LayerWeights:
    """One transformer layer: ``u = LN1(x + W_O·heads + b_O)``, ``h = LN2(u + FFN(u))``."""

    wq: torch.Tensor
    bq: torch.Tensor
    wk: torch.Tensor
    bk: torch.Tensor
    wv: torch.Tensor
    bv: torch.Tensor
    wo: torch.Tensor
    bo: torch.Tensor
    ln1_weight: torch.Tensor
    ln1_bias: torch.Tensor
    ln1_eps: float
    w1: torch.Tensor
    b1: torch.Tensor
    activation: Callable[[torch.Tensor], torch.Tensor]
    w2: torch.Tensor
    b2: torch.Tensor
    ln2_weight: torch.Tensor
    ln2_bias: torch.Tensor
    ln2_eps: float
    num_heads: int = 0  # set by the reader
    causal = False

    @property
    def head_size(self) -> int:
        return self.wq.shape[0] // self.num_heads

    @property
    def scale(self) -> float:
        return 1.0 / math.sqrt(self.head_size)

    @property
    def intermediate_size(self) -> int:
        return self.w1.shape[0]

    def forward(self, x: torch.Tensor, cache: bool = False, head_mask: torch.Tensor | None = None,
                skip_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, LayerCache | None]:
        """``head_mask`` (N, A) zeroes head context vectors before ``W_O`` (so ``b_O`` is still
        added) and ``skip_mask`` (N,) leaves skip inputs out of the residual sum: the ablation
        of SPEC §6. Attention is explicit (forward AD cannot enter SDPA on CPU)."""
        heads = self.num_heads
        q = split_heads(F.linear(x, self.wq, self.bq), heads)
        k = split_heads(F.linear(x, self.wk, self.bk), heads)
        v = split_heads(F.linear(x, self.wv, self.bv), heads)
        probs = torch.softmax(q @ k.transpose(-1, -2) * self.scale, dim=-1)
        ctx = probs @ v
        if head_mask is not None:
            ctx = ctx * head_mask.transpose(0, 1).unsqueeze(-1).to(x.dtype)  # (…, A, N, d)
        skip = x if skip_mask is None else x * skip_mask.unsqueeze(-1).to(x.dtype)
        z = skip + F.linear(merge_heads(ctx), self.wo, self.bo)
        u = F.layer_norm(z, (z.shape[-1],), self.ln1_weight, self.ln1_bias, self.ln1_eps)
        p = F.linear(u, self.w1, self.b1)
        y = u + F.linear(self.activation(p), self.w2, self.b2)
        h = F.layer_norm(y, (y.shape[-1],), self.ln2_weight, self.ln2_bias, self.ln2_eps)
        if not cache:
            return h, None
        return h, LayerCache(
            q=q.detach(), k=k.detach(), v=v.detach(), probs=probs.detach(),
            ln1=norm_cache(z, self.ln1_weight, self.ln1_eps),
            act_grad=activation_derivative(self.activation, p),
            ln2=norm_cache(y, self.ln2_weight, self.ln2_eps),
        )

    def qkv_jvp(self, c: LayerCache, dx: torch.Tensor, pos=None):
        heads = self.num_heads
        return (split_heads(F.linear(dx, self.wq), heads), split_heads(F.linear(dx, self.wk), heads),
                split_heads(F.linear(dx, self.wv), heads))

    def qkv_vjp(self, c: LayerCache, gq: torch.Tensor, gk: torch.Tensor, gv: torch.Tensor, pos=None) -> torch.Tensor:
        return (F.linear(merge_heads(gq), self.wq.t()) + F.linear(merge_heads(gk), self.wk.t())
                + F.linear(merge_heads(gv), self.wv.t()))

    def out_jvp(self, c: LayerCache, dctx: torch.Tensor, pos=None) -> torch.Tensor:
        return F.linear(merge_heads(dctx), self.wo)

    def out_vjp(self, c: LayerCache, gz: torch.Tensor, pos=None) -> torch.Tensor:
        return split_heads(F.linear(gz, self.wo.t()), self.num_heads)

    def post_jvp(self, c: LayerCache, dz: torch.Tensor, pos=None) -> torch.Tensor:
        """Tangent of ``h^l`` from one of ``z`` (LN1, FFN + residual, LN2)."""
        du = norm_jvp(dz, c.ln1.at(pos))
        dy = du + F.linear(F.linear(du, self.w1) * at(c.act_grad, pos), self.w2)
        return norm_jvp(dy, c.ln2.at(pos))

    def post_vjp(self, c: LayerCache, gh: torch.Tensor, pos=None) -> torch.Tensor:
        gy = norm_vjp(gh, c.ln2.at(pos))
        gu = gy + F.linear(F.linear(gy, self.w2.t()) * at(c.act_grad, pos), self.w1.t())
        return norm_vjp(gu, c.ln1.at(pos))


@dataclass
class EmbeddingCache:
    ln: NormCache


@dataclass
class EmbeddingWeights:
    """``h^0 = project(LN(word[x] + position[p] + token_type[t]))``."""

    word: torch.Tensor  # (V, E)
    position: torch.Tensor  # (P, E)
    token_type: torch.Tensor | None  # (T, E) or None (DistilBERT)
    ln_weight: torch.Tensor
    ln_bias: torch.Tensor
    ln_eps: float
    project: nn.Linear | None  # ALBERT / ELECTRA when E != H
    position_offset: int  # RoBERTa counts positions from padding_idx + 1

    @property
    def max_positions(self) -> int:
        return self.position.shape[0] - self.position_offset

    def forward(self, word_vectors: torch.Tensor, token_type_ids: torch.Tensor | None = None, cache: bool = False
                ) -> tuple[torch.Tensor, EmbeddingCache | None]:
        n = word_vectors.shape[-2]
        z = word_vectors + self.position[self.position_offset: self.position_offset + n]
        if self.token_type is not None:
            z = z + (self.token_type[0] if token_type_ids is None else self.token_type[token_type_ids])
        h = F.layer_norm(z, (z.shape[-1],), self.ln_weight, self.ln_bias, self.ln_eps)
        if self.project is not None:
            h = self.project(h)
        return h, (EmbeddingCache(norm_cache(z, self.ln_weight, self.ln_eps)) if cache else None)

    def jvp(self, c: EmbeddingCache, dword: torch.Tensor) -> torch.Tensor:
        dh = norm_jvp(dword, c.ln)
        return dh if self.project is None else F.linear(dh, self.project.weight)

    def vjp(self, c: EmbeddingCache, gh: torch.Tensor) -> torch.Tensor:
        if self.project is not None:
            gh = F.linear(gh, self.project.weight.t())
        return norm_vjp(gh, c.ln)
