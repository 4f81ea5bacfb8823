"""A slow, plain float64 reference of the decoder block (SPEC §10) and GPR on it by explicit
Jacobians, independent of the engine's linear maps (and of HF's float32 RMSNorm).

``block(lw, x, route)`` recomputes a :class:`DecoderLayer` from its parameters with plain
torch; with ``route`` ("skip" or a head) only that route sees ``x`` live, the rest see a
detached copy, so the route's Jacobian is its share of the layer's. Its logits are checked
against Hugging Face's in tests/test_decoder_reference.py.
"""

from __future__ import annotations

import numpy as np
import torch

from _jacobian_paths import JacobianPaths


def _norm(n, x):
    if n.centred:
        mu = x.mean(-1, keepdim=True)
        y = (x - mu) / torch.sqrt(((x - mu) ** 2).mean(-1, keepdim=True) + n.eps)
    else:
        y = x / torch.sqrt((x ** 2).mean(-1, keepdim=True) + n.eps)
    y = y * n.weight
    return y if n.bias is None else y + n.bias


def _rot(x, cos, sin):
    r = cos.shape[-1]
    a, rest = x[..., :r], x[..., r:]
    half = r // 2
    rotated = torch.cat((-a[..., half:], a[..., :half]), -1)
    return torch.cat((a * cos + rotated * sin, rest), -1)


def _lin(x, w, b):
    y = x @ w.T
    return y if b is None else y + b


def context(lw, x):
    """Per head context vectors (A, N, d) of one text x (N, H)."""
    n = x.shape[0]
    a, g, d = lw.num_heads, lw.num_kv_heads, lw.head_size
    xt = _norm(lw.attn_norm, x)
    q = _lin(xt, lw.wq, lw.bq).reshape(n, a, d).transpose(0, 1)
    k = _lin(xt, lw.wk, lw.bk).reshape(n, g, d).transpose(0, 1)
    v = _lin(xt, lw.wv, lw.bv).reshape(n, g, d).transpose(0, 1)
    if lw.q_norm is not None:
        q, k = _norm(lw.q_norm, q), _norm(lw.k_norm, k)
    if lw.rotary is not None:
        cos, sin = lw.rotary.tables(n, x.dtype, x.device)
        q, k = _rot(q, cos, sin), _rot(k, cos, sin)
    out = []
    for h in range(a):
        kv = h // (a // g)
        s = q[h] @ k[kv].T * lw.scale
        for i in range(n):
            for j in range(n):
                if j > i or (lw.window is not None and i - j >= lw.window):
                    s[i, j] = float("-inf")
        out.append(torch.softmax(s, -1) @ v[kv])
    return torch.stack(out)


def block(lw, x, route=None):
    xd = x.detach() if route is not None else x
    live, const = context(lw, x), context(lw, xd)
    ctx = torch.stack([live[h] if route in (None, h) else const[h] for h in range(lw.num_heads)])
    o = _lin(ctx.transpose(0, 1).reshape(x.shape[0], -1), lw.wo, lw.bo)
    if lw.out_norm is not None:
        o = _norm(lw.out_norm, o)
    z = (x if route in (None, "skip") else xd) + o
    m_in = _norm(lw.mlp_norm, z)
    up = _lin(m_in, lw.w_up, lw.b_up)
    hidden = lw.activation(_lin(m_in, lw.w_gate, lw.b_gate)) * up if lw.w_gate is not None else lw.activation(up)
    m = _lin(hidden, lw.w_down, lw.b_down)
    if lw.mlp_out_norm is not None:
        m = _norm(lw.mlp_out_norm, m)
    return z + m


def rule_points(rule: str, steps: int):
    if rule == "paper":
        return np.linspace(0, 1, steps).tolist(), [1.0 / steps] * steps
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return ((nodes + 1) / 2).tolist(), (weights / 2).tolist()


def _top(values: torch.Tensor, valid: torch.Tensor, k: int) -> list[int]:
    """The k largest valid entries (fewer where fewer are valid), ties to the lowest index."""
    v = torch.where(valid, values, torch.full_like(values, -float("inf")))
    order = torch.sort(v, descending=True, stable=True).indices.tolist()
    return [i for i in order if bool(valid[i])][:k]


class DecoderReference(JacobianPaths):
    """Per-step Jacobians of one text: embedding, each layer, each route of each layer."""

    def __init__(self, m, x, b, bound, steps, rule="paper"):
        emb = m.weights.embeddings
        layers = m.weights.layers
        self.t = bound.final_position
        self.d = x - b
        self.n, self.heads, self.L = x.shape[0], m.num_heads, len(layers)
        self.alphas, self.weights = rule_points(rule, steps)
        self.S = steps
        embf = lambda e: emb.forward(e)[0]
        q_of = lambda h: bound(m.outputs(h.unsqueeze(0)))[0]
        jac = lambda f, v: torch.autograd.functional.jacobian(f, v, vectorize=True)
        self.J_emb, self.J, self.JR, self.G, self.dqdx = [], [], [], [], []
        for a in self.alphas:
            e = b + a * (x - b)
            hs = [embf(e)]
            for lw in layers:
                hs.append(block(lw, hs[-1]))
            self.J_emb.append(jac(embf, e))
            self.J.append([jac(lambda v, lw=lw: block(lw, v), hs[i]) for i, lw in enumerate(layers)])
            self.JR.append([{r: jac(lambda v, lw=lw, r=r: block(lw, v, r), hs[i])
                             for r in ["skip", *range(self.heads)]} for i, lw in enumerate(layers)])
            e_req = e.clone().requires_grad_(True)
            hl = [embf(e_req)]
            for lw in layers:
                hl.append(block(lw, hl[-1]))
            grads = torch.autograd.grad(q_of(hl[-1]), [e_req, *hl])
            self.dqdx.append(grads[0])
            self.G.append(list(grads[1:]))
        self.logits_at_input = m.outputs(hs[-1].unsqueeze(0)).logits[0]

    def sign(self, i):
        return 1.0 if self.g(i) >= 0 else -1.0

    def embedding_gpr(self, i, top_k=1):
        """SPEC §4.1 / §10: causal candidates (reachable, not after t, t at the last layer)."""
        ts = [self.tangent0(s, i) for s in range(self.S)]
        sign = self.sign(i)
        scores, chosen = [], [[i]]
        e = torch.arange(self.n)
        for l in range(1, self.L + 1):
            ts = [self.push(self.J[s][l - 1], ts[s]) for s in range(self.S)]
            sc = sum(self.weights[s] * (ts[s] * self.G[s][l]).sum(-1) for s in range(self.S))
            valid = e >= min(chosen[-1])
            if self.t is not None:
                valid &= (e == self.t) if l == self.L else (e <= self.t)
            keep = sorted(_top(sign * sc, valid, top_k))
            mask = torch.zeros(self.n, 1, dtype=sc.dtype)
            mask[keep] = 1
            ts = [t * mask for t in ts]
            scores.append(sc)
            chosen.append(keep)
        return scores, chosen

    def attention_gpr(self, i, positions, top_k=1):
        """SPEC §4.2 with per-route Jacobians; ``positions`` per layer the kept positions (sorted).
        Returns per layer {(k, route): score} and the kept pairs."""
        sign = self.sign(i)

        def onehots(ps):
            v = torch.zeros(self.n, 1, dtype=torch.float64)
            v[list(ps)] = 1
            return v

        ws = []
        for s in range(self.S):
            w = [None] * (self.L + 1)
            w[self.L] = self.G[s][self.L] * onehots(positions[self.L])
            for l in range(self.L, 0, -1):
                w[l - 1] = self.pull(self.J[s][l - 1], w[l]) * onehots(positions[l - 1])
            ws.append(w)
        ts = [self.tangent0(s, i) for s in range(self.S)]
        out = []
        for l in range(1, self.L + 1):
            jp, kp = positions[l - 1], positions[l]
            cells = [(k, r) for k in kp for r in (["skip"] if k in jp else []) + list(range(self.heads))]
            contrib = {(k, r): [self.push(self.JR[s][l - 1][r], ts[s]) * onehots([k]) for s in range(self.S)]
                       for (k, r) in cells}
            scores = {c: sum(self.weights[s] * float((contrib[c][s] * ws[s][l]).sum()) for s in range(self.S))
                      for c in cells}
            order = sorted(range(len(cells)), key=lambda x: -sign * scores[cells[x]])  # stable: ties in grid order
            kept = [cells[x] for x in order[:top_k]]
            ts = [sum(contrib[c][s] for c in kept) for s in range(self.S)]
            out.append((scores, kept))
        return out
