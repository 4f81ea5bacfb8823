"""The distribution of interest (docs/method.md §2): a straight line from a baseline to the input
in word-embedding space, sampled at the points of an integration rule
(:mod:`ipyinfluence.quadrature`; the paper's is ``α = linspace(0, 1, steps)``, plain mean).
Position and token-type embeddings are not interpolated.
"""

from __future__ import annotations

import torch

from .errors import InputError
from .model import Encoded, InfluenceModel
from .quadrature import check_steps, path_points  # noqa: F401  (check_steps: its old home)

INPUT_BASELINES = ("mask", "pad", "zero", "mask-keep-special")  # the baseline b of SPEC §2
BASELINE_HELP = ("'mask' ([MASK] at every position, the paper's choice), 'pad', 'zero', 'mask-keep-special' "
                 "([MASK] except [CLS]/[SEP] keep their own), or any single vocabulary token such as '[UNK]'")


def alphas(steps: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """The paper's points ``linspace(0, 1, steps)`` (see :mod:`ipyinfluence.quadrature` for the rules)."""
    return path_points(steps, "paper", device, dtype).alphas


def _token_vector(model: InfluenceModel, token_id: int | None, what: str) -> torch.Tensor:
    if token_id is None:
        raise InputError(f"this tokenizer has no {what} token; choose another baseline: {BASELINE_HELP}.")
    return model.weights.embeddings.word[token_id].detach()


def baseline_vectors(model: InfluenceModel, encoded: Encoded, baseline: str | int = "mask") -> torch.Tensor:
    """Baseline word vectors ``b`` (N, E) for one tokenised text."""
    word = model.weights.embeddings.word
    n = len(encoded)
    tok = model.tokenizer
    if isinstance(baseline, int) and not isinstance(baseline, bool):
        if not 0 <= baseline < word.shape[0]:
            raise InputError(f"baseline token id {baseline} is outside the vocabulary (size {word.shape[0]}).")
        return word[baseline].detach().expand(n, -1).clone()
    if not isinstance(baseline, str):
        raise InputError(f"baseline {baseline!r} is not understood; use {BASELINE_HELP}.")
    if baseline == "zero":
        return torch.zeros(n, word.shape[1], dtype=word.dtype, device=word.device)
    if baseline == "mask":
        return _token_vector(model, getattr(tok, "mask_token_id", None), "mask").expand(n, -1).clone()
    if baseline == "pad":
        return _token_vector(model, getattr(tok, "pad_token_id", None), "padding").expand(n, -1).clone()
    if baseline == "mask-keep-special":
        b = _token_vector(model, getattr(tok, "mask_token_id", None), "mask").expand(n, -1).clone()
        ids = torch.as_tensor(encoded.input_ids, device=word.device)
        keep = torch.as_tensor(encoded.special, device=word.device)
        b[keep] = word[ids[keep]].detach()
        return b
    try:
        token_id = model.token_id(baseline, "the baseline token")
    except InputError as e:
        raise InputError(f"{e} Baselines: {BASELINE_HELP}.") from None
    return word[token_id].detach().expand(n, -1).clone()


def interpolate(x: torch.Tensor, b: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``e(α) = b + α (x − b)`` (S, N, E), with the ends exactly ``b`` and ``x``."""
    a = alpha.reshape(-1, 1, 1)
    e = b + a * (x - b)
    e = torch.where(a == 1, x.expand_as(e), e)
    return torch.where(a == 0, b.expand_as(e), e)
