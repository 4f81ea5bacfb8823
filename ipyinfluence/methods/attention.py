"""The ``attention`` baseline (docs/method.md §5): the max-product path over attention weights.

Embedding level. At the real input (α = 1) each layer's head-averaged attention is
mixed with the residual as Abnar & Zuidema (2020) do, ``Â^l = 0.5·I + 0.5·mean_h A^l_h``,
and its rows (queries) renormalised. Information flows from key position ``j`` at layer
``l-1`` to query position ``k`` at layer ``l``, so the edge ``h^{l-1}_j -> h^l_k``
weighs ``Â^l[k, j]`` (row = query; the authors' helper read the transpose). A path
``x_i -> h^0_i -> h^1_{j1} -> .. -> h^L_r`` weighs the product of its edges; dynamic
programming in log space finds the heaviest one, and the path is recovered by
backtracking from ``r`` (ties to the lowest index). ``r`` is the QoI's readout
position; a QoI without one (a classifier reading [CLS] through its pooler, a pooled
sentence encoder) uses position 0, the [CLS] token.

``criterion[l][e]`` is the log-weight of the heaviest path through ``h^l_e``.

Attention level. The transition ``h^{l-1}_j -> h^l_k`` of that path splits ``Â^l[k, j]``
into its routes: the skip carries the residual share ``0.5·[j == k]`` and head ``h`` the
share ``0.5·A^l_h[k, j] / A`` (before the common row normalisation, which does not change
the comparison). The route with the largest share is kept, a tie going to the skip. As
``A^l_h[k, j] <= 1 <= A``, this takes the skip exactly when the path stays at its
position (``j == k``) and otherwise the head with the largest ``A^l_h[k, j]``.
``criterion[l-1]`` holds these shares on the GPR grid (nan where the route is invalid).
Both levels' influences are computed as GPR computes them (:mod:`.common`).
"""

from __future__ import annotations

import torch

from ..errors import InputError
from ..gpr import Prepared
from ..model import InfluenceModel
from ..selection import position_masks, valid_routes
from .common import MethodAttentionLevel, MethodEmbeddingLevel, forced_attention_level, forced_embedding_level


def attention_at_input(prep: Prepared) -> list[torch.Tensor]:
    """Per layer the attention probabilities ``A^l`` (A, N, N) at α = 1 (rows = queries)."""
    return prep.input_probs


def augmented_attention(probs: torch.Tensor) -> torch.Tensor:
    """``0.5·I + 0.5·mean_h A_h`` with rows renormalised: (N, N), row = query."""
    n = probs.shape[-1]
    aug = 0.5 * torch.eye(n, dtype=probs.dtype, device=probs.device) + 0.5 * probs.mean(0)
    return aug / aug.sum(-1, keepdim=True)


def max_product_paths(log_weights: list[torch.Tensor], sources: torch.Tensor, readout: int
                      ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Heaviest path from each source to ``readout`` through layers ``1..L``.

    ``log_weights[l-1][k, j]`` is the log-weight of ``h^{l-1}_j -> h^l_k``. Returns the
    chosen positions per layer ``1..L`` (each (W, 1)) and, per layer ``0..L``, the
    log-weight of the heaviest path through each node (W, N).
    """
    n = log_weights[0].shape[-1]
    w = sources.numel()
    dtype, device = log_weights[0].dtype, log_weights[0].device
    neg = torch.full((w, n), -float("inf"), dtype=dtype, device=device)
    fwd = [neg.clone().scatter_(1, sources.reshape(-1, 1), 0.0)]
    for lw in log_weights:  # best path from x_i into each node
        fwd.append((fwd[-1][:, None, :] + lw[None]).max(-1).values)
    bwd = [None] * len(fwd)  # best path from each node to the readout
    bwd[-1] = neg.clone()
    bwd[-1][:, readout] = 0.0
    for l in range(len(log_weights), 0, -1):
        bwd[l - 1] = (log_weights[l - 1][None] + bwd[l][:, :, None]).max(1).values
    through = [f + b for f, b in zip(fwd, bwd)]
    cur = torch.full((w,), readout, dtype=torch.long, device=device)
    chosen = [cur.reshape(-1, 1)]
    for l in range(len(log_weights), 1, -1):  # backtrack layers L..2 into L-1..1
        cand = fwd[l - 1] + log_weights[l - 1][cur]  # (W, N) over j
        cur = torch.argmax(cand, dim=-1)  # first maximum: ties to the lowest index
        chosen.append(cur.reshape(-1, 1))
    chosen.reverse()
    return chosen, through


def route_shares(probs: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
    """Share of each route on the edge from ``h^{l-1}_{prev}`` into every ``h^l_k``: (W, N, A+1).

    Column 0: the skip's ``0.5·[k == prev]``; column h+1: head h's ``0.5·A_h[k, prev] / A``.
    """
    a, n, _ = probs.shape
    heads = 0.5 * probs[:, :, prev].permute(2, 1, 0) / a  # (W, N, A)
    skip = 0.5 * (torch.arange(n, device=probs.device)[None, :] == prev[:, None]).to(probs.dtype)
    return torch.cat([skip.unsqueeze(-1), heads], dim=-1)


@torch.no_grad()
def attention_patterns(model: InfluenceModel, prep: Prepared, sources: torch.Tensor, *, level: str = "attention",
                       top_k: int = 1, readout: int | None = None, seed: int = 0
                       ) -> tuple[MethodEmbeddingLevel, MethodAttentionLevel | None]:
    """The ``attention`` baseline at the embedding level and, if asked, the attention level."""
    if top_k != 1:
        raise InputError("the attention baseline is a single max-product path; use top_k=1.")
    readout = 0 if readout is None else readout
    probs = attention_at_input(prep)
    log_weights = [torch.log(augmented_attention(p)) for p in probs]
    chosen, through = max_product_paths(log_weights, sources, readout)
    emb = forced_embedding_level(model, prep, sources, chosen, through)
    if level != "attention":
        return emb, None
    heads = model.num_heads
    n = probs[0].shape[-1]
    masks = position_masks(emb.chosen, n)
    routes, crit = [], []
    for l in range(1, model.num_layers + 1):
        prev, k = emb.chosen[l - 1][:, 0], emb.chosen[l][:, 0]
        shares = route_shares(probs[l - 1], prev)
        valid = valid_routes(masks, l, heads)
        rows = torch.arange(k.numel(), device=k.device)
        at_k = torch.where(valid[rows, k], shares[rows, k], torch.full_like(shares[rows, k], -float("inf")))
        route = torch.argmax(at_k, dim=-1)  # first maximum: a tie goes to the skip (column 0)
        routes.append((k * (heads + 1) + route).reshape(-1, 1))
        crit.append(torch.where(valid, shares, torch.full_like(shares, float("nan"))))
    att = forced_attention_level(model, prep, sources, emb, routes, crit)
    return emb, att
