"""The shared pass in slices of α rows, so that a ``should_stop`` (a Cancel click) ends
it soon whatever the model (issue 19.4: on a BERT-base-sized model at 40 tokens the
one-batch pass kept a cancelled run going for 12 s).

Every α row is independent in the forward, the QoI and the backward, so the pass over the
rule's S points is the row-wise concatenation of passes over consecutive slices (equal to
the one-batch pass up to float rounding: the matrix products group their sums
differently). :func:`~ipyinfluence.gpr.prepare` asks ``should_stop`` before its forward
and before each layer of its backward; a slice holds as many rows as
:data:`SLICE_FLOPS` allows (one on a BERT-base-sized model at 40 tokens, four on
all-MiniLM-L6-v2 at 31, all of them on the tiny test models). The size comes from the model and the text, never from a clock,
so the same run gives the same numbers every time.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional

import torch

from .errors import Cancelled
from .gpr import Prepared, prepare, read_ends
from .integration import interpolate

# Work of one slice (forward and backward): ~0.3 s of one busy CPU core. Smaller slices cost
# more than they save (1-row slices doubled MiniLM's pass at 31 tokens: 5.1 s against 2.5 s;
# 4-row ones cost nothing); a GPU does ~100× more.
SLICE_FLOPS = {"cpu": 9e9, "cuda": 9e11}


def row_flops(model, n: int) -> float:
    """Rough multiply-adds ×2 of one α row's forward and backward (≈ 3 forwards)."""
    enc = model.weights
    hidden, inter = enc.layers[0].wq.shape[0], enc.layers[0].intermediate_size
    per_token = 2 * (4 * hidden * hidden + 2 * hidden * inter) + 4 * n * hidden
    return 3.0 * enc.num_layers * n * per_token


def slice_rows(model, n: int, total: int) -> int:
    budget = SLICE_FLOPS.get(model.device.type, SLICE_FLOPS["cuda"])
    return max(1, min(total, int(budget // row_flops(model, n))))


def stoppable_prepare(model, x: torch.Tensor, b: torch.Tensor, qoi, alpha: torch.Tensor,
                      weights: torch.Tensor | None, should_stop: Callable[[], bool],
                      rows: Optional[int] = None) -> Prepared:
    """:func:`~ipyinfluence.gpr.prepare` over ``alpha`` in slices of ``rows`` (default
    :func:`slice_rows`), asking ``should_stop`` between slices and layers; raises
    :class:`~ipyinfluence.errors.Cancelled` when it says True. Returns the pass over all
    of ``alpha``, its ends read as :func:`~ipyinfluence.gpr.prepare` reads them."""
    total = int(alpha.numel())
    rows = rows or slice_rows(model, x.shape[-2], total)
    parts: list[Prepared] = []
    for start in range(0, total, rows):
        if should_stop():
            raise Cancelled(f"the shared pass was stopped after {start} of {total} points")
        parts.append(prepare(model, x, b, qoi, alpha[start:start + rows], ends=False, should_stop=should_stop))
    if len(parts) == 1:  # one batch: exactly what prepare gives
        parts[0].weights = weights
        return read_ends(model, parts[0], x, b, qoi)
    prep = join_rows(parts)
    prep.weights = weights
    if bool(alpha[0] == 0) and bool(alpha[-1] == 1):
        return read_ends(model, prep, x, b, qoi)  # the ends are rows of the pass
    return _read_ends_one_by_one(model, prep, x, b, qoi, should_stop)


def _read_ends_one_by_one(model, prep: Prepared, x, b, qoi, should_stop) -> Prepared:
    """:func:`~ipyinfluence.gpr.read_ends`' two-row forward (α = 0 and 1), one row at a
    time with a stop check between (the two-row forward took 1.4 s to stop at a load of 12)."""
    ends = []
    for a in (0.0, 1.0):
        if should_stop():
            raise Cancelled("the shared pass was stopped while reading q(b) and q(x)")
        with torch.no_grad():
            fwd = model.forward(interpolate(x, b, prep.alphas.new_tensor([a])), cache=True)
            ends.append((float(qoi(model.outputs(fwd.hidden[-1])).detach()[0]), fwd))
    (prep.q_baseline, _), (prep.q_input, at_input) = ends
    prep.input_probs = [c.probs[0] for c in at_input.layers]
    return prep


def join_rows(parts: list[Prepared]) -> Prepared:
    """One :class:`Prepared` from passes over consecutive α slices."""
    rows = [int(p.alphas.numel()) for p in parts]
    first = parts[0]
    return dataclasses.replace(
        first, alphas=torch.cat([p.alphas for p in parts]), q=torch.cat([p.q for p in parts]),
        grads=[torch.cat(g) for g in zip(*(p.grads for p in parts))],
        input_grad=torch.cat([p.input_grad for p in parts]),
        forward=_join([p.forward for p in parts], rows))


def _join(values: list[Any], rows: list[int]) -> Any:
    """Concatenate the per-row tensors of a cache structure (dataclasses, lists) along the
    rows; what all slices share (weights: one storage; equal constants) is kept once."""
    first = values[0]
    if first is None:
        return None
    if isinstance(first, torch.Tensor):
        if all(v.data_ptr() == first.data_ptr() and v.shape == first.shape for v in values):
            return first
        if all(v.dim() > 0 and v.shape[0] == r for v, r in zip(values, rows)):
            return torch.cat(values)
        if all(v.shape == first.shape and torch.equal(v, first) for v in values):
            return first
        raise TypeError(f"cannot join a cache tensor of shape {tuple(first.shape)} over α slices.")
    if isinstance(first, (list, tuple)):
        return type(first)(_join([v[i] for v in values], rows) for i in range(len(first)))
    if dataclasses.is_dataclass(first):
        return dataclasses.replace(first, **{f.name: _join([getattr(v, f.name) for v in values], rows)
                                             for f in dataclasses.fields(first) if f.init})
    if all(v == first for v in values):
        return first
    raise TypeError(f"cannot join a cache field of type {type(first).__name__} over α slices.")
