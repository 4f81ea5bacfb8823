"""Guided Pattern Refinement (SPEC §4), batched over source words × integration steps.

Cost (SPEC §4.1 cost model): one primal forward and one backward over the step batch,
shared by all words (:func:`prepare`); then per chunk of words one forward-mode sweep
for the embedding level and, for the attention level, one restricted reverse sweep plus
one forward sweep. Every sweep carries the word axis in front of the cached primal, so
no candidate node ever gets a pass of its own and no Python loop runs over candidates.

Tensors here keep a leading word axis ``W``; scores are ``mean_α`` of per-step dot
products (the mean of the products, not the product of the means).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from .errors import Cancelled
from .functional import (
    Forward,
    embed_jvp,
    embed_vjp,
    head_context_jvp_at,
    kept_rows_push,
    kept_rows_scores,
    layer_vjp,
    layer_vjp_at,
    at_positions,
    post_attention_vjp,
    route_scores,
    routes_jvp,
)
from .integration import interpolate
from .model import InfluenceModel
from .quadrature import mean_dot, path_mean
from .selection import pick, signs


@dataclass
class Prepared:
    """What every word shares: the primal over the α batch and ``G^l = ∂q/∂h^l``."""

    alphas: torch.Tensor  # (S,)
    forward: Forward  # primal caches, no autograd graph
    grads: list[torch.Tensor]  # G^0..G^L, each (S, N, H)
    q: torch.Tensor  # (S,) QoI at each α
    directions: torch.Tensor  # x − b, (N, E)
    weights: torch.Tensor | None = None  # the rule's weights over α (None: the plain mean)
    input_grad: torch.Tensor | None = None  # ∂q/∂e at each α, (S, N, E)
    q_baseline: float = float("nan")  # q(b)
    q_input: float = float("nan")  # q(x)
    input_probs: list[torch.Tensor] | None = None  # per layer the attention (A, N, N) at α = 1
    final: int | None = None  # a decoder QoI's read position t: patterns end at h^L_t (SPEC §10)

    def totals(self) -> torch.Tensor:
        """``g_i`` of every position (N,): ``mean_α <∂q/∂x_i, x_i − b_i>``."""
        return path_mean((self.input_grad * self.directions).sum(-1), self.weights, 0)

    def completeness_gap(self) -> float:
        """``|Σ_i g_i − (q(x) − q(b))|`` over every position (SPEC §2)."""
        return abs(float(self.totals().sum()) - (self.q_input - self.q_baseline))


def prepare(model: InfluenceModel, x: torch.Tensor, b: torch.Tensor, qoi, alpha: torch.Tensor,
            weights: torch.Tensor | None = None, ends: bool = True,
            should_stop: Callable[[], bool] | None = None) -> Prepared:
    """One forward and one backward over the ``steps`` batch (SPEC §4.1).

    The backward is the engine's own :func:`~ipyinfluence.functional.layer_vjp` on the
    primal cache; autograd only runs through the output head and the QoI. So no autograd
    graph of the encoder is ever held next to the cache (the memory peak it used to set).
    When the rule's points miss α = 0 or α = 1 (Gauss–Legendre), q(b), q(x) and the
    attention at the input come from a separate two-row forward. ``ends=False`` leaves them
    out (a caller that stacks several sentences' rows reads each sentence's ends itself).
    ``should_stop`` is asked before the forward and before each layer of the backward; when
    it says True the pass ends with :class:`~ipyinfluence.errors.Cancelled` (a Cancel click:
    :mod:`ipyinfluence.stoppable_pass` also splits the α batch so that this comes soon).
    """
    enc = model.weights
    if should_stop is not None and should_stop():
        raise Cancelled("the shared pass was stopped before its forward")
    e = interpolate(x, b, alpha)
    with torch.no_grad():
        fwd = model.forward(e, cache=True)
    with torch.enable_grad():
        top = fwd.hidden[-1].detach().requires_grad_(True)
        q = qoi(model.outputs(top))
        (g_top,) = torch.autograd.grad(q.sum(), top)
    grads = [None] * (enc.num_layers + 1)
    grads[-1] = g_top.detach()
    with torch.no_grad():
        for l in range(enc.num_layers, 0, -1):
            if should_stop is not None and should_stop():
                raise Cancelled(f"the shared pass was stopped at layer {l} of its backward")
            grads[l - 1] = layer_vjp(enc.layers[l - 1], fwd.layers[l - 1], grads[l], enc.num_heads)
        input_grad = embed_vjp(enc.embeddings, fwd.embedding, grads[0])
    prep = Prepared(alpha, fwd, grads, q.detach(), (x - b).detach(), weights=weights, input_grad=input_grad,
                    final=getattr(qoi, "final_position", None))
    return read_ends(model, prep, x, b, qoi) if ends else prep


def read_ends(model: InfluenceModel, prep: Prepared, x: torch.Tensor, b: torch.Tensor, qoi) -> Prepared:
    """Fill in q(b), q(x) and the attention at the input: from the pass's own first and last
    rows when the rule has α = 0 and α = 1 (the paper's), else from a two-row forward."""
    alpha = prep.alphas
    if bool(alpha[0] == 0) and bool(alpha[-1] == 1):
        prep.q_baseline, prep.q_input = float(prep.q[0]), float(prep.q[-1])
        prep.input_probs = [c.probs[-1] for c in prep.forward.layers]
        return prep
    with torch.no_grad():
        ends = model.forward(interpolate(x, b, alpha.new_tensor([0.0, 1.0])), cache=True)
        q_ends = qoi(model.outputs(ends.hidden[-1])).detach()
    prep.q_baseline, prep.q_input = float(q_ends[0]), float(q_ends[1])
    prep.input_probs = [c.probs[1] for c in ends.layers]
    return prep


def source_tangent(model: InfluenceModel, prep: Prepared, sources: torch.Tensor) -> torch.Tensor:
    """Tangent of ``h^0`` for the direction ``x_i − b_i`` at each source i: (W, S, N, H)."""
    w = sources.numel()
    s, n, _ = prep.forward.hidden[0].shape
    dword = torch.zeros(w, s, n, prep.directions.shape[-1], dtype=prep.directions.dtype,
                        device=prep.directions.device)
    dword[torch.arange(w), :, sources] = prep.directions[sources].unsqueeze(1)
    return embed_jvp(model.weights.embeddings, prep.forward.embedding, dword)


def causal_candidates(model: InfluenceModel, prep: Prepared, keep: torch.Tensor, kept: torch.Tensor,
                      last: bool) -> torch.Tensor | None:
    """(W, N) candidates of a decoder's embedding level (SPEC §10): the positions the tangent
    reaches (at or after the earliest really kept one, ``kept`` (W, k) saying which are: elsewhere
    the score is exactly 0 and must not be picked), not after the QoI's position t (they cannot
    reach it), and t itself at the last layer. None for encoders: every position is a candidate.

    With ``top_k`` above a word's candidate count the choice is padded with non-candidates
    (``pick`` ranks them last); they carry exactly nothing (unreachable, or after t) and the
    result leaves them out (:attr:`EmbeddingLevel.kept`)."""
    if not model.causal:
        return None
    n = prep.forward.hidden[0].shape[1]
    e = torch.arange(n, device=keep.device)[None, :]
    earliest = torch.where(kept, keep, torch.full_like(keep, n)).min(1, keepdim=True).values
    valid = e >= earliest
    if prep.final is not None:
        valid = valid & ((e == prep.final) if last else (e <= prep.final))
    return valid


@dataclass
class EmbeddingLevel:
    """Batched embedding-level result: ``chosen[l]`` (W, k) positions, ``scores[l]`` (W, N)."""

    total: torch.Tensor  # g_i (W,)
    chosen: list[torch.Tensor]  # layers 0..L
    scores: list[torch.Tensor]  # layers 0..L
    influence: torch.Tensor  # (W,)
    kept: list[torch.Tensor] | None = None  # (W, k) per layer: False where a decoder's choice is padding


def embedding_level(model: InfluenceModel, prep: Prepared, sources: torch.Tensor, top_k: int = 1,
                    sign: torch.Tensor | None = None, forced: list[torch.Tensor] | None = None) -> EmbeddingLevel:
    """SPEC §4.1: push the tangent layer by layer, keep ``argmax_e σ·score(e)``.

    The tangent lives on the kept positions only; every position's score is read through
    the shared adjoint (:func:`~ipyinfluence.functional.kept_rows_scores`), so a word costs
    O(N·k) per head and layer, and the position-wise part of the layer runs only at the
    positions kept. Tested against the plain sweep that pushes the dense tangent
    (tests/_tangent_embedding_level.py) and against explicit Jacobians.

    ``forced`` (one (W, k) tensor per layer 1..L) replaces the greedy choice: the baseline
    methods use it so their pattern influences are computed by exactly this sweep.
    """
    enc = model.weights
    t = source_tangent(model, prep, sources)  # (W, S, N, H), non-zero at the source only
    s0 = mean_dot(t, prep.grads[0], prep.weights)
    total = s0[torch.arange(sources.numel()), sources]
    if sign is None:
        sign = signs(total)
    keep = sources.reshape(-1, 1)
    ok = torch.ones_like(keep, dtype=torch.bool)
    chosen, scores, kept = [keep], [s0], [ok]
    rows = t.gather(2, keep[:, None, :, None].expand(-1, t.shape[1], -1, t.shape[3]))  # (W, S, 1, H)
    for l, (lw, c) in enumerate(zip(enc.layers, prep.forward.layers), start=1):
        per_step, tangent = kept_rows_scores(lw, c, rows, keep, prep.grads[l], enc.num_heads)
        sc = path_mean(per_step, prep.weights, 1)
        valid = causal_candidates(model, prep, keep, ok, last=l == enc.num_layers) if forced is None else None
        new = forced[l - 1] if forced is not None else pick(sc, sign, top_k, valid)
        ok = torch.ones_like(new, dtype=torch.bool) if valid is None else valid.gather(1, new)
        rows = kept_rows_push(lw, c, rows, keep, new, tangent)
        keep = new
        chosen.append(new)
        scores.append(sc)
        kept.append(ok)
    influence = (scores[-1].gather(1, chosen[-1]) * kept[-1]).sum(1)
    return EmbeddingLevel(total=total, chosen=chosen, scores=scores, influence=influence, kept=kept)


@dataclass
class AttentionLevel:
    """Batched attention-level result.

    ``scores[l-1]`` (W, N, A+1): column 0 the skip route, 1..A the heads, for every query
    position (nan where the route is not a candidate). ``chosen[l-1]`` (W, k) indexes the
    flattened (N, A+1) grid: position = idx // (A+1), route = idx % (A+1) (0 = skip).
    """

    scores: list[torch.Tensor]
    chosen: list[torch.Tensor]
    influence: torch.Tensor  # (W,)


def restricted_gradients(model: InfluenceModel, prep: Prepared, pos: list[torch.Tensor]) -> list[torch.Tensor]:
    """``w^l = ∂q/∂h^l`` restricted to the embedding-level suffix (SPEC §4.2), l = 0..L,
    on the kept positions only: ``w[l]`` is (W, S, k_l, H) at ``pos[l]`` (W, k_l).

    One reverse sweep, batched over words: start from ``G^L`` at the kept node(s) and
    pull back through each layer keeping only the pattern's positions.
    """
    enc = model.weights
    w = [None] * (enc.num_layers + 1)
    w[-1] = at_positions(prep.grads[-1], pos[-1])
    for l in range(enc.num_layers, 0, -1):
        w[l - 1] = layer_vjp_at(enc.layers[l - 1], prep.forward.layers[l - 1], w[l], pos[l], pos[l - 1],
                                enc.num_heads)
    return w


def _gathered_routes(forced: torch.Tensor, kp: torch.Tensor, valid: torch.Tensor, heads: int, layer: int
                     ) -> torch.Tensor:
    """Forced routes, indexed on the dense (N, A+1) grid, as indices of the gathered (k, A+1) grid."""
    p, r = forced // (heads + 1), forced % (heads + 1)
    match = kp[:, :, None] == p[:, None, :]  # (W, k, m)
    at = match.to(torch.long).argmax(1)
    idx = at * (heads + 1) + r
    if not bool(match.any(1).all()) or not bool(valid.flatten(1).gather(1, idx).all()):
        raise ValueError(f"layer {layer}: a forced route is not a route into the embedding-level pattern.")
    return idx


def attention_level(model: InfluenceModel, prep: Prepared, sources: torch.Tensor, emb: EmbeddingLevel,
                    top_k: int = 1, sign: torch.Tensor | None = None,
                    forced: list[torch.Tensor] | None = None) -> AttentionLevel:
    """SPEC §4.2: refine the embedding-level pattern into heads and skips, bottom-up.

    Every tangent and cotangent lives on the pattern's kept positions (tested against a
    dense reference). ``forced`` (one (W, k) tensor per layer 1..L, indexing the (N, A+1)
    grid) replaces the greedy choice, as for :func:`embedding_level`: each forced cell must
    be a route into the embedding-level pattern (a head into a kept ``h^l_k``, or the skip
    where ``h^{l-1}_k`` is kept too).
    """
    enc = model.weights
    heads = enc.num_heads
    n = prep.forward.hidden[0].shape[1]
    w_words = sources.numel()
    pos = [torch.sort(c, dim=1).values for c in emb.chosen]  # position order: ties go to the lowest position
    w = restricted_gradients(model, prep, pos)
    if sign is None:
        sign = signs(emb.total)
    rows = torch.arange(w_words, device=sources.device)[:, None]
    dx = source_tangent(model, prep, sources)[rows, :, pos[0]].transpose(1, 2)  # (W, S, 1, H) at the source
    all_scores, all_chosen = [], []
    for l in range(1, enc.num_layers + 1):
        lw, c = enc.layers[l - 1], prep.forward.layers[l - 1]
        kp, jp = pos[l], pos[l - 1]
        dctx, dx_k = head_context_jvp_at(lw, c, dx, kp, jp, heads)
        gz = post_attention_vjp(lw, c, w[l], kp)  # (W, S, k, H)
        grid = route_scores(lw, c, dx_k, dctx, gz, kp, prep.weights)  # (W, k, A+1)
        valid = torch.ones_like(grid, dtype=torch.bool)
        valid[..., 0] = (kp[:, :, None] == jp[:, None, :]).any(-1)  # the skip carries only h^{l-1}_k -> h^l_k
        if emb.kept is not None:  # routes into a decoder's padding positions are not candidates
            valid &= torch.gather(emb.kept[l], 1, torch.sort(emb.chosen[l], dim=1).indices)[:, :, None]
        if forced is None:
            keep = pick(grid, sign, top_k, valid)
        else:
            keep = _gathered_routes(forced[l - 1], kp, valid, heads, l)
        sel = torch.zeros_like(valid).flatten(1).scatter_(1, keep, True).reshape_as(valid) & valid
        dx = routes_jvp(lw, c, dx_k, dctx, sel, kp)
        # back to the dense (W, N, A+1) grid of the result type
        dense = torch.full((w_words, n, heads + 1), float("nan"), dtype=grid.dtype, device=grid.device)
        dense[rows, kp] = torch.where(valid, grid, torch.full_like(grid, float("nan")))
        all_scores.append(dense)
        all_chosen.append(forced[l - 1] if forced is not None
                          else kp.gather(1, keep // (heads + 1)) * (heads + 1) + keep % (heads + 1))
    last = all_scores[-1].flatten(1).gather(1, all_chosen[-1])
    return AttentionLevel(scores=all_scores, chosen=all_chosen, influence=torch.nan_to_num(last).sum(1))
