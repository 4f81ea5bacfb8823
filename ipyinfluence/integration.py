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

INPUT_BASELINES = ("mask", "pad", "unk", "zero", "mask-keep-special")  # the baseline b of SPEC §2 / §10
BASELINE_HELP = ("'mask' ([MASK] at every position, the paper's choice for masked LMs), 'pad', 'unk', 'zero', "
                 "'mask-keep-special' ([MASK] except [CLS]/[SEP] keep their own), any single vocabulary token such "
                 "as '[UNK]', or a counterfactual text of the same token length (e.g. 'When Alice and Bob went …')")


def default_baseline(model: InfluenceModel) -> str:
    """``"mask"`` (the paper's) for encoders. Decoders have no [MASK] (docs/method.md §10): their default
    is a real token row at every position, the tokenizer's unknown-word, padding or
    end-of-text token (the first it has). Not ``"zero"``: the zero vector is the singular
    point of the first RMSNorm (``x/rms(x)`` jumps from 0 to full size within α ≈ √ε/rms(x)),
    so the integrand spikes at α = 0 and no rule with a few dozen points adds up there
    (measured on the tiny Llama: a completeness gap of 67% of |q(x) − q(b)| at GL/16)."""
    if not model.causal:
        return "mask"
    tok = model.tokenizer
    for name in ("unk_token", "pad_token", "eos_token"):
        token = getattr(tok, name, None)
        if isinstance(token, str) and token:
            return token
    return "zero"


def alphas(steps: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """The paper's points ``linspace(0, 1, steps)`` (see :mod:`ipyinfluence.quadrature` for the rules)."""
    return path_points(steps, "paper", device, dtype).alphas


def _token_vector(model: InfluenceModel, token_id: int | None, what: str) -> torch.Tensor:
    if token_id is None:
        raise InputError(f"this tokenizer has no {what} token; choose another baseline: {BASELINE_HELP}.")
    return model.weights.embeddings.word[token_id].detach()


def baseline_vectors(model: InfluenceModel, encoded: Encoded, baseline: str | int | None = None) -> torch.Tensor:
    """Baseline word vectors ``b`` (N, E) for one tokenised text (None: :func:`default_baseline`).

    A string that is one token of the tokenizer is that token at every position; a longer
    string is a *counterfactual text* (docs/method.md §10): its own tokens, row by row, so it must have
    the input's token length. For decoders a leading BOS keeps its own vector (it is the
    same in every text, so it carries no influence) whatever the baseline.
    """
    b = _baseline_rows(model, encoded, default_baseline(model) if baseline is None else baseline)
    if model.causal and encoded.special and encoded.special[0] \
            and encoded.input_ids[0] == getattr(model.tokenizer, "bos_token_id", None):
        b[0] = model.weights.embeddings.word[encoded.input_ids[0]].detach()
    return b


def _baseline_rows(model: InfluenceModel, encoded: Encoded, baseline) -> torch.Tensor:
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
    if baseline == "unk":
        return _token_vector(model, getattr(tok, "unk_token_id", None), "unknown-word").expand(n, -1).clone()
    if baseline == "mask-keep-special":
        b = _token_vector(model, getattr(tok, "mask_token_id", None), "mask").expand(n, -1).clone()
        ids = torch.as_tensor(encoded.input_ids, device=word.device)
        keep = torch.as_tensor(encoded.special, device=word.device)
        b[keep] = word[ids[keep]].detach()
        return b
    if not baseline.strip():
        raise InputError(f"the baseline is an empty string; use {BASELINE_HELP}.")
    if len(tok.tokenize(baseline)) > 1:
        return counterfactual_vectors(model, encoded, baseline)
    try:
        token_id = model.token_id(baseline, "the baseline token")
    except InputError as e:
        raise InputError(f"{e} Baselines: {BASELINE_HELP}.") from None
    return word[token_id].detach().expand(n, -1).clone()


def counterfactual_vectors(model: InfluenceModel, encoded: Encoded, text: str) -> torch.Tensor:
    """The word vectors of a counterfactual text of the input's token length, row by row."""
    other = model.encode(text)
    if len(other) != len(encoded):
        raise InputError(
            f"the counterfactual baseline {text!r} is {len(other)} tokens {other.tokens} but the input is "
            f"{len(encoded)} tokens {encoded.tokens}: a counterfactual text must have the same token length "
            "(replace words by words of as many tokens). A single token as a baseline must be one vocabulary "
            f"token. Baselines: {BASELINE_HELP}.")
    ids = torch.as_tensor(other.input_ids, device=model.weights.embeddings.word.device)
    return model.weights.embeddings.word[ids].detach().clone()


def interpolate(x: torch.Tensor, b: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``e(α) = b + α (x − b)`` (S, N, E), with the ends exactly ``b`` and ``x``."""
    a = alpha.reshape(-1, 1, 1)
    e = b + a * (x - b)
    e = torch.where(a == 1, x.expand_as(e), e)
    return torch.where(a == 0, b.expand_as(e), e)
