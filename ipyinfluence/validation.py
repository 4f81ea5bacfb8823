"""Checks the explain stream runs before and right after its shared pass (issue 9).

* Memory: the shared forward/backward over the ``steps`` batch and one word's sweep are
  estimated before anything is allocated; a run that cannot fit is refused with an
  :class:`OutOfMemoryError` that says what to reduce (instead of the allocator's raw
  error, or the machine swapping to death). One word with all its steps is the smallest
  chunk the sweep takes: each greedy choice needs the mean over every α first, so
  splitting a word over α would mean summing each layer's scores over α chunks before
  choosing, inside gpr.py's sweeps. Until that exists, such a run is refused here.
* Finiteness: non-finite word vectors, baselines, QoI values or gradients would give
  patterns chosen among NaNs; each is refused with an error that names where it appeared
  (the input, the baseline, or which α step).
* ``available_memory``: free memory of the device (CUDA: ``mem_get_info`` plus torch's cached
  free blocks; CPU: psutil's ``available``, else ``MemAvailable`` from ``/proc/meminfo``),
  used to size chunks.
"""

from __future__ import annotations

import math
import re
import warnings

import torch

from .errors import InputError, OutOfMemoryError, QoIError

FALLBACK_CPU_BYTES = int(1.5 * 2**30)  # when the free memory cannot be read
USABLE_SHARE = 0.8  # of the free memory one run may plan to use


def available_memory(device: torch.device) -> int:
    """Bytes free for tensors on ``device`` now."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)  # torch's own free blocks
        return int(free + max(0, cached))
    try:
        import psutil  # type: ignore

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return FALLBACK_CPU_BYTES


def shared_pass_bytes(model, n: int, steps: int) -> int:
    """Rough peak of the shared pass: the primal caches over the ``steps`` batch of ``n``
    tokens (Q, K, V, two LayerNorms, the activation's derivative, the attention), one
    layer's transient forward, the interpolated inputs, and ``∂q/∂h^l`` for every layer
    (the backward is the engine's own, so no autograd graph is held)."""
    enc = model.weights
    h, a, layers = enc.hidden_size, enc.num_heads, enc.num_layers
    inter = enc.layers[0].intermediate_size
    e = enc.embeddings.word.shape[1]
    per_row = (layers * n * (6 * h + inter + a * n) + n * (4 * h + 2 * inter + 2 * a * n)
               + 2 * (layers + 1) * n * h + 3 * n * e)
    return per_row * steps * torch.finfo(model.dtype).bits // 8


def _gib(b: float) -> str:
    return f"{b / 2**30:.1f} GiB" if b >= 2**28 else f"{b / 2**20:.0f} MiB"


def check_memory(model, n: int, steps: int, word_bytes: int) -> None:
    """Refuse a run whose shared pass plus one word's sweep cannot fit in free memory."""
    shared = shared_pass_bytes(model, n, steps)
    need = shared + word_bytes
    free = available_memory(model.device) * USABLE_SHARE
    if need <= free:
        return
    per_step = need / steps
    fit = int(free // per_step) if per_step else 0
    hint = f"use at most about {fit} steps" if fit >= 2 else "use a shorter text"
    raise OutOfMemoryError(
        f"steps={steps} on {n} tokens needs about {_gib(need)} ({_gib(shared)} for the shared pass over the steps, "
        f"{_gib(word_bytes)} per source word), but about {_gib(free)} is usable on {model.device}: {hint}, "
        "a shorter text, or a device with more memory."
    )


def _where(k: int, alphas: torch.Tensor) -> str:
    s, a = alphas.numel(), float(alphas[k])
    if a == 0:
        return f"at the baseline (α = 0, step {k + 1})"
    if a == 1:
        return f"at the input (α = 1, step {k + 1})"
    return f"at step {k + 1} of {s} (α = {a:.4g})"


def check_finite_vectors(x: torch.Tensor, b: torch.Tensor, tokens: list[str], baseline) -> None:
    """Word vectors of the input and the baseline must be finite."""
    for vec, what in ((x, "input"), (b, f"baseline {baseline!r}")):
        bad = (~torch.isfinite(vec)).any(-1).nonzero().flatten().tolist()
        if bad:
            where = ", ".join(f"{p} ({tokens[p]!r})" for p in bad[:5])
            raise InputError(f"the {what} word vectors are not finite (NaN or inf) at positions {where}: the model's "
                             "embedding weights hold non-finite values; check or reload the model.")


def nonfinite_weights(model) -> list[str]:
    """Names of the model's parameters and buffers that hold NaN or inf."""
    named = list(model.hf_model.named_parameters()) + list(model.hf_model.named_buffers())
    return [name for name, t in named if t.is_floating_point() and not bool(torch.isfinite(t).all())]


def check_finite_weights(model) -> None:
    """Blame non-finite weights on the model, by name (else a NaN they cause downstream
    would be blamed on the QoI; issue 16.17). Run only once a non-finite value appeared:
    it reads every weight."""
    bad = nonfinite_weights(model)
    if bad:
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise InputError(f"the model's weights hold NaN or inf values ({', '.join(bad[:3])}{more}): the model is "
                         "damaged, not the QoI; reload it, or check the training or conversion that made it.")


def check_finite_pass(prep, description: str, model=None) -> None:
    """The QoI along the path, at both ends, and its gradients ``∂q/∂h^l`` must be finite.
    With ``model``: a non-finite value is first traced to non-finite weights, if any."""
    try:
        _check_finite_pass(prep, description)
    except QoIError:
        if model is not None:
            check_finite_weights(model)
        raise


def _check_finite_pass(prep, description: str) -> None:
    for value, where in ((prep.q_baseline, "at the baseline (α = 0)"), (prep.q_input, "at the input (α = 1)")):
        if not math.isfinite(value):
            raise QoIError(f"the QoI {description!r} is not finite (value {value}) {where}: make it finite for every "
                           "point between the baseline and the input (e.g. clamp before a log or a division).")
    q = prep.q
    bad = (~torch.isfinite(q)).nonzero().flatten().tolist()
    if bad:
        where = "; ".join(_where(k, prep.alphas) for k in bad[:3]) + (" …" if len(bad) > 3 else "")
        raise QoIError(f"the QoI {description!r} is not finite (value {float(q[bad[0]])}) {where}: make it finite "
                       "for every point between the baseline and the input (e.g. clamp before a log or a division).")
    for layer, g in enumerate(prep.grads):
        rows = (~torch.isfinite(g)).flatten(1).any(-1).nonzero().flatten().tolist()
        if rows:
            raise QoIError(f"the gradient of the QoI {description!r} with respect to layer {layer} is not finite "
                           f"{_where(rows[0], prep.alphas)}: the QoI is not differentiable there (e.g. sqrt or "
                           "log at 0); make it smooth.")


def check_layer(layer, num_layers: int | None, what: str = "layer") -> int:
    """A transformer layer number, ``1..num_layers`` (``None``: the count is unknown, only
    ``>= 1`` is checked). Python's negative indices and ``0`` (which would read the last
    layer) are refused rather than guessed at."""
    if isinstance(layer, bool) or not isinstance(layer, int) or layer < 1 or \
            (num_layers is not None and layer > num_layers):
        valid = f"1..{num_layers}" if num_layers is not None else "1..L (L the model's number of layers)"
        raise InputError(f"{what} must be a transformer layer, {valid} (layer 1 is the first, counted from 1); "
                         f"got {layer!r}.")
    return layer


class NothingExplainedWarning(UserWarning):
    """Every influence is zero although the QoI changes between the baseline and the input."""


def warn_if_nothing_explained(prep, description: str, stacklevel: int = 3) -> bool:
    """Warn when every ``g_i`` is exactly 0 but ``q(x) ≠ q(b)``: the QoI's gradient vanishes
    at every point of the rule (a piecewise-constant QoI: round, floor, sign, an argmax), so
    the whole difference is a completeness gap and every pattern is empty. ``steps='auto'``
    says so through its gap test; with a fixed number of steps nothing did (issue 16.17)."""
    difference = prep.q_input - prep.q_baseline
    if difference == 0 or bool(prep.totals().any()):
        return False
    warnings.warn(f"every influence is 0: the gradient of the QoI {description!r} is zero at all "
                  f"{prep.alphas.numel()} points between the baseline and the input, so none of q(x) − q(b) = "
                  f"{difference:.3g} is explained (completeness gap 100%). The QoI is flat along the path (e.g. "
                  "round, floor, sign or argmax of the outputs): use a smooth one, e.g. the logit or probability "
                  "itself.", NothingExplainedWarning, stacklevel=stacklevel)
    return True


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(text: str, what: str = "the text") -> str:
    """Refuse a lone UTF-16 surrogate (U+D800..U+DFFF, e.g. "\\ud800"): half of a pair, not
    a character. Python strings may hold one (a cut emoji, ``surrogateescape`` decoding),
    and the tokenizer then failed with a raw ``TypeError`` (issue 16.17)."""
    found = _SURROGATE.search(text) if isinstance(text, str) else None
    if found:
        i, ch = found.start(), found.group()
        raise InputError(f"{what} holds a lone surrogate U+{ord(ch):04X} at character {i} (half of a UTF-16 "
                         "pair, not a character; it comes from a cut emoji or from bytes decoded with "
                         "errors='surrogateescape'): remove it, or decode the text as UTF-8.")
    return text
