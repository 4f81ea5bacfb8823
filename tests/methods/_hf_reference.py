"""Slow references computed on the Hugging Face model itself (not the engine's functional
forward): autograd gradients, forward-mode tangents and explicit layer Jacobians."""

from __future__ import annotations

import torch
import torch.autograd.forward_ad as fwAD

from ipyinfluence.integration import alphas, baseline_vectors, interpolate


class Trace:
    """Runs the HF masked LM's encoder on ``inputs_embeds`` and captures, per layer, the merged head
    context vectors and the skip input that enter ``attention.output`` (BertSelfOutput)."""

    def __init__(self, hf):
        self.hf = hf
        self.ctx, self.skip = [], []
        self.handles = [layer.attention.output.register_forward_pre_hook(self._hook)
                        for layer in hf.bert.encoder.layer]

    def _hook(self, module, args):
        ctx, skip = args[0] + 0, args[1] + 0  # fresh graph nodes, so gradients stop exactly here
        self.ctx.append(ctx)
        self.skip.append(skip)
        return (ctx, skip)

    def run(self, embeds):
        self.ctx, self.skip = [], []
        return self.hf.bert(inputs_embeds=embeds, output_hidden_states=True)

    def close(self):
        for h in self.handles:
            h.remove()


def path_inputs(model, text: str, steps: int):
    """Word vectors along the DoI (S, N, E), the direction x − b (N, E), and the encoding."""
    encoded = model.encode(text)
    ids = torch.as_tensor(encoded.input_ids)
    x = model.word_vectors(ids).detach()
    b = baseline_vectors(model, encoded, "mask")
    a = alphas(steps, dtype=model.dtype)
    return interpolate(x, b, a), (x - b), encoded


def mlm_qoi(model, readout: int, good: str, bad: str):
    """``logit[readout, good] − logit[readout, bad]`` from the encoder output, through HF's MLM head
    applied at the readout position only (the head is position-wise)."""
    g, b = model.token_id(good), model.token_id(bad)

    def q(out):
        logits = model.hf_model.cls(out.last_hidden_state[:, readout:readout + 1])[:, 0]
        return logits[:, g] - logits[:, b]

    return q


def gradients(model, embeds, q_fn):
    """∂q/∂(h^l, context^l, skip^l) summed over the step batch; each (S, N, H)."""
    trace = Trace(model.hf_model)
    try:
        e = embeds.clone().requires_grad_(True)
        out = trace.run(e)
        q = q_fn(out)
        hidden = list(out.hidden_states)
        grads = torch.autograd.grad(q.sum(), hidden + trace.ctx + trace.skip, allow_unused=True)
    finally:
        trace.close()
    nl = len(trace.ctx)
    fix = lambda g, ref: torch.zeros_like(ref) if g is None else g  # noqa: E731
    g = [fix(gg, r) for gg, r in zip(grads, hidden + trace.ctx + trace.skip)]
    return g[: nl + 1], g[nl + 1: 2 * nl + 1], g[2 * nl + 1:]


def tangents(model, embeds, direction):
    """Forward-mode tangents of (h^l, context^l, skip^l) for an input tangent ``direction`` (S, N, E)."""
    trace = Trace(model.hf_model)
    try:
        with torch.no_grad(), fwAD.dual_level():
            out = trace.run(fwAD.make_dual(embeds, direction))
            tan = lambda t: fwAD.unpack_dual(t).tangent.clone()  # noqa: E731
            hidden = [tan(h) for h in out.hidden_states]
            ctx = [tan(c) for c in trace.ctx]
            skip = [tan(s) for s in trace.skip]
    finally:
        trace.close()
    return hidden, ctx, skip


def word_direction(direction, position: int, steps: int):
    d = torch.zeros_like(direction)
    d[position] = direction[position]
    return d.expand(steps, -1, -1).clone()


def block_jacobian(model, layer: int, h_prev, pos: int, prev: int):
    """``∂h^l_pos / ∂h^{l-1}_prev`` (S, H, H) of the HF layer at the primal ``h^{l-1}`` of every step."""
    module = model.hf_model.bert.encoder.layer[layer - 1]
    out = []
    for s in range(h_prev.shape[0]):
        base = h_prev[s].detach()

        def f(row, base=base):
            h = torch.cat([base[:prev], row.unsqueeze(0), base[prev + 1:]])
            return module(h.unsqueeze(0))[0, pos]

        out.append(torch.autograd.functional.jacobian(f, base[prev], vectorize=True))
    return torch.stack(out)
