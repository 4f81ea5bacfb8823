"""A reference GPR with the authors' algorithm structure, for honest speed comparisons.

The authors' release (``caleblu/influence-patterns``, TensorFlow) finds a pattern word by
word and layer by layer: for source word ``i`` and layer ``l`` it runs the *whole* model
once in forward mode (a ``ForwardAccumulator``) and once in reverse mode (a
``GradientTape``), with stop-gradient masks that restrict which nodes carry derivatives.
This module does the same in PyTorch, on the Hugging Face model itself (eager
attention), with ``torch.autograd.forward_ad`` and ``torch.autograd.grad``:

* words: a Python loop; each pass is batched over the integration steps only;
* embedding level, per layer ``l``: a forward-mode pass whose tangent starts at ``x_i``
  and is kept only at the already chosen positions of ``h^0..h^{l-1}`` gives ``T^l``; a
  reverse pass gives ``G^l = ∂q/∂h^l``; pick ``argmax_e σ·mean_α <T^l_e, G^l_e>``;
* attention level, per layer ``l``: a forward-mode pass restricted to the refined routes
  of layers ``< l`` gives the tangents of every head context ``a^l`` and of the skip
  ``s^l``; a reverse pass restricted to the embedding-level suffix positions
  ``j_l..j_L`` gives their gradients; pick the best route (ties to the skip).

That is ``4L`` whole-model passes per word (``2L`` forward-mode, ``2L`` reverse =
forward + backward, so about ``6L`` network traversals), plus one shared reverse pass
for the signs ``σ_i``. Nothing here uses the engine's decomposed forward or its
hand-written derivatives (only its input handling, head and QoI), so agreement of the
chosen patterns also checks the engine against plain autograd on the HF model.

Restrictions are applied by hooks on the HF modules: a restricted node keeps its value
but is replaced, where it must not carry derivatives, by its ``detach()``. Only
BERT-shaped models (``BertModel`` module names: BERT, MiniLM) are supported.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import torch
import torch.autograd.forward_ad as fwAD

from ipyinfluence.explain import resolve_sources
from ipyinfluence.integration import alphas, baseline_vectors, interpolate
from ipyinfluence.model import InfluenceModel
from ipyinfluence.qoi import as_qoi
from ipyinfluence.results import SKIP


class _StopForward(Exception):
    """Raised by a hook to end a forward-mode pass once its node is captured (``truncate``)."""


@dataclass
class _Plan:
    """What the hooks do during one pass. Layers are SPEC §1's: 0 = embeddings, 1..L."""

    positions: dict[int, int] = field(default_factory=dict)  # h^l carries derivatives only at this position
    routes: dict[int, tuple[int, int]] = field(default_factory=dict)  # layer -> (query k, 0 skip | 1+head)
    leaf_hidden: int | None = None  # reverse: make h^l a leaf (its gradient is G^l)
    leaf_routes: int | None = None  # reverse: make a^l and s^l leaves
    tangent_hidden: int | None = None  # forward: capture the tangent of h^l
    tangent_routes: int | None = None  # forward: capture the tangents of a^l and s^l
    truncate: bool = False


def _keep(t: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Same value; derivatives flow only where ``mask`` is true."""
    return torch.where(mask, t, t.detach())


class _Hooks:
    """Stop-gradient gates and captures on a Hugging Face BERT encoder."""

    def __init__(self, base: torch.nn.Module, heads: int):
        if not (hasattr(base, "embeddings") and hasattr(base, "encoder") and hasattr(base.encoder, "layer")):
            raise TypeError(f"the reference supports BertModel-shaped encoders only, not {type(base).__name__}.")
        self.heads = heads
        self.plan = _Plan()
        self.got: dict[str, torch.Tensor] = {}
        self.handles = [base.embeddings.register_forward_hook(self._hidden_hook(0))]
        for i, layer in enumerate(base.encoder.layer, start=1):
            self.handles += [
                layer.attention.self.register_forward_hook(self._context_hook(i)),
                layer.attention.output.register_forward_pre_hook(self._skip_hook(i)),
                layer.register_forward_hook(self._hidden_hook(i)),
            ]

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    def _position_mask(self, t: torch.Tensor, pos: int | None) -> torch.Tensor:
        m = torch.zeros(t.shape[-2], 1, dtype=torch.bool, device=t.device)
        if pos is not None:
            m[pos] = True
        return m

    def _hidden_hook(self, l: int):
        def hook(module, args, out):
            p = self.plan
            h = out[0] if isinstance(out, tuple) else out
            if l in p.positions:
                h = _keep(h, self._position_mask(h, p.positions[l]))
            if p.leaf_hidden == l:
                h = h.detach().requires_grad_(True)
                self.got["hidden"] = h
            if p.tangent_hidden == l:
                self.got["hidden"] = fwAD.unpack_dual(h).tangent
                if p.truncate:
                    raise _StopForward
            return (h, *out[1:]) if isinstance(out, tuple) else h
        return hook

    def _context_hook(self, l: int):
        def hook(module, args, out):
            p = self.plan
            ctx = out[0]  # (S, N, A·d): heads merged, before W_O
            if l in p.routes:
                k, r = p.routes[l]
                m = torch.zeros(ctx.shape[-2], self.heads, 1, dtype=torch.bool, device=ctx.device)
                if r > 0:
                    m[k, r - 1] = True
                ctx = _keep(ctx.unflatten(-1, (self.heads, -1)), m).flatten(-2)
            if p.leaf_routes == l:
                ctx = ctx.detach().requires_grad_(True)
                self.got["context"] = ctx
            if p.tangent_routes == l:
                self.got["context"] = fwAD.unpack_dual(ctx).tangent
            return (ctx, *out[1:])
        return hook

    def _skip_hook(self, l: int):
        def hook(module, args):
            p = self.plan
            context, skip = args[0], args[1]  # BertSelfOutput(hidden_states, input_tensor)
            if l in p.routes:
                k, r = p.routes[l]
                skip = _keep(skip, self._position_mask(skip, k if r == 0 else None))
            if p.leaf_routes == l:
                skip = skip.detach().requires_grad_(True)
                self.got["skip"] = skip
            if p.tangent_routes == l:
                self.got["skip"] = fwAD.unpack_dual(skip).tangent
                if p.truncate:
                    raise _StopForward
            return (context, skip, *args[2:])
        return hook


@dataclass
class ReferenceWord:
    position: int
    total_influence: float
    positions: list[int]  # h^0..h^L
    embedding_influence: float
    routes: list[tuple[int, object]]  # layers 1..L: (position, "skip" | head index)
    attention_influence: float


@dataclass
class ReferenceResult:
    tokens: list[str]
    words: list[ReferenceWord]
    passes_per_word: int  # whole-model passes (forward-mode or reverse) per source word
    seconds_shared: float = 0.0
    seconds_per_word: list[float] = field(default_factory=list)  # wall clock
    cpu_seconds_shared: float = 0.0
    cpu_seconds_per_word: list[float] = field(default_factory=list)  # process CPU time, all threads


def reference_gpr(model: InfluenceModel, text: str, qoi, *, steps: int = 51, sources: Sequence | None = None,
                  baseline="mask", truncate: bool = False) -> ReferenceResult:
    """GPR at both levels, word by word and layer by layer (see the module doc).

    ``truncate=True`` ends each forward-mode pass at the node it needs instead of running
    the rest of the model (the authors ran the whole model); it is a fairer, faster
    reference, offered to bound how much of the gap is that waste.
    """
    encoded = model.encode(text)
    bound = as_qoi(qoi).bind(model, encoded)
    srcs = resolve_sources(encoded.tokens, sources, bound.readout_position)
    ids = torch.as_tensor(encoded.input_ids, device=model.device)
    x = model.word_vectors(ids).detach()
    b = baseline_vectors(model, encoded, baseline)
    e = interpolate(x, b, alphas(steps, model.device, model.dtype)).detach()
    direction = (x - b).detach()
    base = model.hf_model.base_model
    if getattr(base.config, "_attn_implementation", "eager") != "eager":
        raise ValueError("forward-mode AD needs eager attention: call hf_model.set_attn_implementation('eager').")
    num_layers, heads = model.num_layers, model.num_heads
    hooks = _Hooks(base, heads)

    def q_of(embeds: torch.Tensor) -> torch.Tensor:
        return bound(model.outputs(base(inputs_embeds=embeds).last_hidden_state))

    def forward_mode(plan: _Plan, tangent: torch.Tensor) -> dict[str, torch.Tensor]:
        hooks.plan, hooks.got = plan, {}
        with torch.no_grad(), fwAD.dual_level():
            try:
                q_of(fwAD.make_dual(e, tangent))
            except _StopForward:
                pass
        return hooks.got

    def reverse_mode(plan: _Plan, names: Sequence[str]) -> list[torch.Tensor]:
        hooks.plan, hooks.got = plan, {}
        with torch.enable_grad():
            q = q_of(e)
            return list(torch.autograd.grad(q.sum(), [hooks.got[n] for n in names]))

    def mean_dot(t: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return (t * g).sum(-1).mean(0)

    words: list[ReferenceWord] = []
    per_word: list[float] = []
    cpu_per_word: list[float] = []
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        # Shared: g_i for every word (σ_i = sign g_i), one reverse pass to the word vectors.
        hooks.plan = _Plan()
        with torch.enable_grad():
            ev = e.clone().requires_grad_(True)
            (g,) = torch.autograd.grad(q_of(ev).sum(), ev)
        totals = mean_dot(g, direction)  # (N,)
        shared, cpu_shared = time.perf_counter() - t0, time.process_time() - c0
        for i in srcs:
            t0, c0 = time.perf_counter(), time.process_time()
            sign = 1.0 if float(totals[i]) >= 0 else -1.0
            tangent = torch.zeros_like(e)
            tangent[:, i] = direction[i]
            positions = {0: i}
            score = float(totals[i])
            for l in range(1, num_layers + 1):
                t_l = forward_mode(_Plan(positions=dict(positions), tangent_hidden=l, truncate=truncate),
                                   tangent)["hidden"]
                (g_l,) = reverse_mode(_Plan(leaf_hidden=l), ["hidden"])
                scores = mean_dot(t_l, g_l)  # (N,)
                j = int(torch.argmax(sign * scores))  # first maximum: ties to the lowest index
                positions[l] = j
                score = float(scores[j])
            emb_influence = score
            routes: dict[int, tuple[int, int]] = {}
            for l in range(1, num_layers + 1):
                k = positions[l]
                got = forward_mode(_Plan(positions={0: i}, routes=dict(routes), tangent_routes=l,
                                         truncate=truncate), tangent)
                t_ctx, t_skip = got["context"], got["skip"]
                g_ctx, g_skip = reverse_mode(
                    _Plan(positions={m: positions[m] for m in range(l, num_layers + 1)}, leaf_routes=l),
                    ["context", "skip"])
                head_scores = (t_ctx[:, k] * g_ctx[:, k]).unflatten(-1, (heads, -1)).sum(-1).mean(0)  # (A,)
                skip_score = float(mean_dot(t_skip[:, k], g_skip[:, k])) if k == positions[l - 1] else math.nan
                cands = [skip_score] + head_scores.tolist()  # route 0 = skip, listed first: ties go to it
                signed = [(-math.inf if math.isnan(c) else sign * c) for c in cands]
                r = max(range(len(cands)), key=lambda idx: (signed[idx], -idx))
                routes[l] = (k, r)
                score = cands[r]
            words.append(ReferenceWord(
                position=i, total_influence=float(totals[i]),
                positions=[positions[l] for l in range(num_layers + 1)], embedding_influence=emb_influence,
                routes=[(routes[l][0], SKIP if routes[l][1] == 0 else routes[l][1] - 1)
                        for l in range(1, num_layers + 1)],
                attention_influence=score,
            ))
            per_word.append(time.perf_counter() - t0)
            cpu_per_word.append(time.process_time() - c0)
    finally:
        hooks.remove()
    return ReferenceResult(tokens=list(encoded.tokens), words=words, passes_per_word=4 * num_layers,
                           seconds_shared=shared, seconds_per_word=per_word, cpu_seconds_shared=cpu_shared,
                           cpu_seconds_per_word=cpu_per_word)


@dataclass
class Agreement:
    """How the reference's patterns compare with the engine's, word by word."""

    words: int = 0
    embedding_equal: int = 0
    attention_equal: int = 0  # counted over words whose embedding patterns agree
    near_ties: list[str] = field(default_factory=list)  # mismatches explained by a score tie
    mismatches: list[str] = field(default_factory=list)
    max_influence_rel_diff: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.mismatches


def compare(ref: ReferenceResult, explanation, rel_tie: float = 1e-4) -> Agreement:
    """Compare chosen nodes; a mismatch whose two scores agree to ``rel_tie`` is a near tie."""
    by_pos = {w.position: w for w in explanation.words}
    out = Agreement()
    for rw in ref.words:
        ew = by_pos[rw.position]
        out.words += 1
        e_pos = [s.chosen[0] for s in ew.embedding.steps]
        rel = abs(rw.embedding_influence - ew.embedding.influence) / max(abs(ew.embedding.influence), 1e-12)
        out.max_influence_rel_diff = max(out.max_influence_rel_diff, rel)
        if e_pos != rw.positions:
            l = next(l for l in range(len(e_pos)) if e_pos[l] != rw.positions[l])
            scores = ew.embedding.steps[l].scores
            a, b_ = scores[e_pos[l]], scores[rw.positions[l]]
            msg = (f"word {rw.position} {ref.tokens[rw.position]!r}: layer {l} engine h^{l}_{e_pos[l]} "
                   f"({a:.6g}) vs reference h^{l}_{rw.positions[l]} ({b_:.6g})")
            if abs(a - b_) <= rel_tie * max(abs(a), abs(b_), 1e-12):
                out.near_ties.append(msg)
            else:
                out.mismatches.append(msg)
            continue
        out.embedding_equal += 1
        if ew.attention is None:
            continue
        e_routes = [(s.chosen[0].position, s.chosen[0].route) for s in ew.attention.steps]
        if e_routes == rw.routes:
            out.attention_equal += 1
            rel = abs(rw.attention_influence - ew.attention.influence) / max(abs(ew.attention.influence), 1e-12)
            out.max_influence_rel_diff = max(out.max_influence_rel_diff, rel)
        else:
            l = next(l for l in range(len(e_routes)) if e_routes[l] != rw.routes[l])
            step = ew.attention.steps[l]
            cand = {(c.position, c.route): c.score for c in step.candidates}
            a, b_ = cand.get(e_routes[l], math.nan), cand.get(tuple(rw.routes[l]), math.nan)
            msg = (f"word {rw.position} {ref.tokens[rw.position]!r}: layer {l + 1} engine route {e_routes[l]} "
                   f"({a:.6g}) vs reference {tuple(rw.routes[l])} ({b_:.6g})")
            if abs(a - b_) <= rel_tie * max(abs(a), abs(b_), 1e-12):
                out.near_ties.append(msg)
            else:
                out.mismatches.append(msg)
    return out
