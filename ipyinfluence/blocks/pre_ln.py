"""The decoder block (docs/method.md §10): a causal, pre-norm residual stream.

    u^l = h^{l-1} + out(Σ_h W_O^h a^l_{·,h} + b_O)         out: identity, or Gemma's post-attention norm
    h^l = u^l + post_mlp(MLP(mlp_norm(u^l)))                post_mlp: identity, or Gemma's post-FFN norm

Attention reads ``attn_norm(h^{l-1})``; queries and keys may pass a per-head QK-norm
(Qwen3, Gemma 3) and then rotary embeddings (rotate-half convention, partial rotary when
the tables are shorter than a head); grouped key/value heads serve ``A/G`` query heads
each. Masks are causal, optionally with a sliding window. The MLP is gated
(``down(act(gate(x)) · up(x))``: SwiGLU, GeGLU) or plain (``proj(act(fc(x)))``: GPT-2).
Every linear map below is exact: no frozen attention, no frozen norm scales.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from .norms import Norm, NormCache, activation_derivative, norm_jvp, norm_vjp
from .tensors import at, merge_heads, split_heads


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding on the first ``cos.shape[-1]`` dims of each head (the rest pass)."""
    r = cos.shape[-1]
    if r == x.shape[-1]:
        return x * cos + rotate_half(x) * sin
    return torch.cat((x[..., :r] * cos + rotate_half(x[..., :r]) * sin, x[..., r:]), dim=-1)


def rotate_transposed(g: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """The transpose of :func:`rotate` (rotate_half's transpose is its negative)."""
    r = cos.shape[-1]
    if r == g.shape[-1]:
        return g * cos - rotate_half(g * sin)
    return torch.cat((g[..., :r] * cos - rotate_half(g[..., :r] * sin), g[..., r:]), dim=-1)


@dataclass
class Rotary:
    """Rotary tables for positions ``0..N-1``: ``tables(n, dtype, device) -> (cos, sin)`` (N, r)."""

    tables: Callable[[int, torch.dtype, torch.device], tuple[torch.Tensor, torch.Tensor]]


@dataclass
class DecoderCache:
    q: torch.Tensor  # (S, A, N, d) after QK-norm and rotary
    k: torch.Tensor  # (S, A, N, d) repeated per query head
    v: torch.Tensor
    probs: torch.Tensor  # (S, A, N, N)
    attn_norm: NormCache
    q_norm: NormCache | None  # (S, A, N, d)
    k_norm: NormCache | None  # (S, G, N, d)
    cos: torch.Tensor | None  # (N, r)
    sin: torch.Tensor | None
    out_norm: NormCache | None
    mlp_norm: NormCache
    act: torch.Tensor | None  # (S, N, I) act(gate) of a gated MLP (a plain MLP's map needs only act_grad)
    act_grad: torch.Tensor  # (S, N, I)
    up: torch.Tensor | None  # (S, N, I) up(x) of a gated MLP
    mlp_out_norm: NormCache | None


def _table_at(t: torch.Tensor | None, pos: torch.Tensor | None) -> torch.Tensor | None:
    """A rotary table (N, r) broadcast against per-head tensors (…, A, k, d)."""
    if t is None or pos is None:
        return t
    return t[pos][:, None, None]  # (W, 1, 1, k, r)


def _maybe_norm_jvp(dx: torch.Tensor, c: NormCache | None) -> torch.Tensor:
    return dx if c is None else norm_jvp(dx, c)


def _maybe_norm_vjp(g: torch.Tensor, c: NormCache | None) -> torch.Tensor:
    return g if c is None else norm_vjp(g, c)


@dataclass
class DecoderLayer:
    attn_norm: Norm
    wq: torch.Tensor  # (A·d, H)
    bq: torch.Tensor | None
    wk: torch.Tensor  # (G·d, H)
    bk: torch.Tensor | None
    wv: torch.Tensor
    bv: torch.Tensor | None
    wo: torch.Tensor  # (H, A·d)
    bo: torch.Tensor | None
    num_heads: int
    num_kv_heads: int
    scale: float
    mlp_norm: Norm
    w_up: torch.Tensor  # (I, H): the gated MLP's up, or the plain MLP's fc
    b_up: torch.Tensor | None
    w_down: torch.Tensor  # (H, I)
    b_down: torch.Tensor | None
    activation: Callable[[torch.Tensor], torch.Tensor]
    w_gate: torch.Tensor | None = None  # (I, H): a gated MLP
    b_gate: torch.Tensor | None = None
    q_norm: Norm | None = None  # per head, over d
    k_norm: Norm | None = None
    rotary: Rotary | None = None
    window: int | None = None  # sliding window: k sees j with 0 <= k - j < window
    out_norm: Norm | None = None  # Gemma's post-attention norm
    mlp_out_norm: Norm | None = None  # Gemma's post-feed-forward norm
    causal = True

    @property
    def head_size(self) -> int:
        return self.wq.shape[0] // self.num_heads

    @property
    def intermediate_size(self) -> int:
        return self.w_up.shape[0]

    @property
    def group(self) -> int:
        return self.num_heads // self.num_kv_heads

    def mask(self, n: int, device) -> torch.Tensor:
        """(N, N) bool: query k sees key j."""
        k = torch.arange(n, device=device)[:, None]
        j = torch.arange(n, device=device)[None, :]
        allowed = j <= k
        if self.window is not None:
            allowed &= (k - j) < self.window
        return allowed

    def _repeat(self, t: torch.Tensor) -> torch.Tensor:
        """Key/value heads (…, G, N, d) to query heads (…, A, N, d): query head h reads h // (A/G)."""
        return t if self.group == 1 else t.repeat_interleave(self.group, dim=-3)

    def _unrepeat(self, g: torch.Tensor) -> torch.Tensor:
        if self.group == 1:
            return g
        *lead, a, n, d = g.shape
        return g.reshape(*lead, self.num_kv_heads, self.group, n, d).sum(-3)

    def forward(self, x: torch.Tensor, cache: bool = False, head_mask: torch.Tensor | None = None,
                skip_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, DecoderCache | None]:
        n = x.shape[-2]
        xt = self.attn_norm(x)
        q0 = split_heads(F.linear(xt, self.wq, self.bq), self.num_heads)
        k0 = split_heads(F.linear(xt, self.wk, self.bk), self.num_kv_heads)
        v = split_heads(F.linear(xt, self.wv, self.bv), self.num_kv_heads)
        q, k = q0, k0
        if self.q_norm is not None:
            q, k = self.q_norm(q0), self.k_norm(k0)
        cos = sin = None
        if self.rotary is not None:
            cos, sin = self.rotary.tables(n, x.dtype, x.device)
            q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        k, v = self._repeat(k), self._repeat(v)
        scores = (q @ k.transpose(-1, -2)) * self.scale
        scores = scores.masked_fill(~self.mask(n, x.device), float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        ctx = probs @ v
        if head_mask is not None:
            ctx = ctx * head_mask.transpose(0, 1).unsqueeze(-1).to(x.dtype)
        o = F.linear(merge_heads(ctx), self.wo, self.bo)
        o_out = self.out_norm(o) if self.out_norm is not None else o
        skip = x if skip_mask is None else x * skip_mask.unsqueeze(-1).to(x.dtype)
        z = skip + o_out
        m_in = self.mlp_norm(z)
        up = F.linear(m_in, self.w_up, self.b_up)
        if self.w_gate is not None:
            pre = F.linear(m_in, self.w_gate, self.b_gate)
            act = self.activation(pre)
            hidden = act * up
        else:
            pre, act = up, self.activation(up)
            hidden = act
        m = F.linear(hidden, self.w_down, self.b_down)
        m_out = self.mlp_out_norm(m) if self.mlp_out_norm is not None else m
        h = z + m_out
        if not cache:
            return h, None
        return h, DecoderCache(
            q=q.detach(), k=k.detach(), v=v.detach(), probs=probs.detach(),
            attn_norm=self.attn_norm.cache(x),
            q_norm=self.q_norm.cache(q0) if self.q_norm is not None else None,
            k_norm=self.k_norm.cache(k0) if self.k_norm is not None else None,
            cos=cos, sin=sin,
            out_norm=self.out_norm.cache(o) if self.out_norm is not None else None,
            mlp_norm=self.mlp_norm.cache(z),
            act=act.detach() if self.w_gate is not None else None,
            act_grad=activation_derivative(self.activation, pre),
            up=up.detach() if self.w_gate is not None else None,
            mlp_out_norm=self.mlp_out_norm.cache(m) if self.mlp_out_norm is not None else None,
        )

    # -- the linear maps ---------------------------------------------------------
    def qkv_jvp(self, c: DecoderCache, dx: torch.Tensor, pos=None):
        dxt = norm_jvp(dx, c.attn_norm.at(pos))
        dq = split_heads(F.linear(dxt, self.wq), self.num_heads)
        dk = split_heads(F.linear(dxt, self.wk), self.num_kv_heads)
        dv = split_heads(F.linear(dxt, self.wv), self.num_kv_heads)
        if c.q_norm is not None:
            dq, dk = norm_jvp(dq, c.q_norm.heads_at(pos)), norm_jvp(dk, c.k_norm.heads_at(pos))
        if c.cos is not None:
            cos, sin = _table_at(c.cos, pos), _table_at(c.sin, pos)
            dq, dk = rotate(dq, cos, sin), rotate(dk, cos, sin)
        return dq, self._repeat(dk), self._repeat(dv)

    def qkv_vjp(self, c: DecoderCache, gq: torch.Tensor, gk: torch.Tensor, gv: torch.Tensor, pos=None
                ) -> torch.Tensor:
        gk, gv = self._unrepeat(gk), self._unrepeat(gv)
        if c.cos is not None:
            cos, sin = _table_at(c.cos, pos), _table_at(c.sin, pos)
            gq, gk = rotate_transposed(gq, cos, sin), rotate_transposed(gk, cos, sin)
        if c.q_norm is not None:
            gq, gk = norm_vjp(gq, c.q_norm.heads_at(pos)), norm_vjp(gk, c.k_norm.heads_at(pos))
        gxt = (F.linear(merge_heads(gq), self.wq.t()) + F.linear(merge_heads(gk), self.wk.t())
               + F.linear(merge_heads(gv), self.wv.t()))
        return norm_vjp(gxt, c.attn_norm.at(pos))

    def out_jvp(self, c: DecoderCache, dctx: torch.Tensor, pos=None) -> torch.Tensor:
        return _maybe_norm_jvp(F.linear(merge_heads(dctx), self.wo), c.out_norm and c.out_norm.at(pos))

    def out_vjp(self, c: DecoderCache, gz: torch.Tensor, pos=None) -> torch.Tensor:
        g = _maybe_norm_vjp(gz, c.out_norm and c.out_norm.at(pos))
        return split_heads(F.linear(g, self.wo.t()), self.num_heads)

    def post_jvp(self, c: DecoderCache, dz: torch.Tensor, pos=None) -> torch.Tensor:
        dm_in = norm_jvp(dz, c.mlp_norm.at(pos))
        dup = F.linear(dm_in, self.w_up)
        if self.w_gate is not None:
            dhidden = at(c.act_grad, pos) * F.linear(dm_in, self.w_gate) * at(c.up, pos) + at(c.act, pos) * dup
        else:
            dhidden = at(c.act_grad, pos) * dup
        dm = F.linear(dhidden, self.w_down)
        return dz + _maybe_norm_jvp(dm, c.mlp_out_norm and c.mlp_out_norm.at(pos))

    def post_vjp(self, c: DecoderCache, gh: torch.Tensor, pos=None) -> torch.Tensor:
        gm = _maybe_norm_vjp(gh, c.mlp_out_norm and c.mlp_out_norm.at(pos))
        ghidden = F.linear(gm, self.w_down.t())
        if self.w_gate is not None:
            gm_in = (F.linear(ghidden * at(c.act_grad, pos) * at(c.up, pos), self.w_gate.t())
                     + F.linear(ghidden * at(c.act, pos), self.w_up.t()))
        else:
            gm_in = F.linear(ghidden * at(c.act_grad, pos), self.w_up.t())
        return gh + norm_vjp(gm_in, c.mlp_norm.at(pos))


@dataclass
class DecoderEmbedding:
    """``h^0 = scale · word[x] (+ position[p])``: Gemma's √d scale, GPT-2's learned positions
    (added, never interpolated). Linear in the word vectors, so it needs no cache."""

    word: torch.Tensor  # (V, H)
    scale: float = 1.0
    position: torch.Tensor | None = None  # (P, H)
    max_positions: int = 2048

    def forward(self, word_vectors: torch.Tensor, token_type_ids=None, cache: bool = False):
        h = word_vectors * self.scale if self.scale != 1.0 else word_vectors
        if self.position is not None:
            h = h + self.position[: word_vectors.shape[-2]]
        return h, None

    def jvp(self, c, dword: torch.Tensor) -> torch.Tensor:
        return dword * self.scale

    def vjp(self, c, gh: torch.Tensor) -> torch.Tensor:
        return gh * self.scale
