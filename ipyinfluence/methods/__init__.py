"""Comparison methods: the paper's baseline patterns (docs/method.md §5), one per module.

Vocabulary: a *method* chooses a pattern (``"gpr"``, or one of these); a *baseline* is
the input baseline ``b`` the path starts from (docs/method.md §2, :mod:`ipyinfluence.integration`).

Each comparison method picks one node (``top_k`` with the extension) per layer per
source word and returns the same batched tensors as :mod:`ipyinfluence.gpr`
(:class:`~.common.MethodEmbeddingLevel`, :class:`~.common.MethodAttentionLevel`), with
the pattern's influence computed exactly as GPR's, so
:func:`ipyinfluence.explanation_stream.to_word_results` draws and the metrics ablate them
like GPR.
Through :func:`ipyinfluence.explain`: ``method="attention" | "conductance" |
"internal_influence" | "random"`` (``"random:SEED"`` picks the seed).
:func:`ipyinfluence.metrics.replace_skip` is the node-set baseline for ablation.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..errors import InputError
from ..gpr import Prepared
from ..model import InfluenceModel
from .attention import attention_patterns
from .common import MethodAttentionLevel, MethodEmbeddingLevel, forced_attention_level, forced_embedding_level
from .conductance import conductance_patterns
from .internal_influence import internal_influence_patterns
from .random_pattern import Spread, random_patterns, seed_spread

COMPARISON_METHODS: dict[str, Callable] = {
    "attention": attention_patterns,
    "conductance": conductance_patterns,
    "internal_influence": internal_influence_patterns,
    "random": random_patterns,
}
COMPARISON_METHOD_NAMES = tuple(COMPARISON_METHODS)


def parse_method(method: str) -> tuple[str, int]:
    """``"random:7"`` -> ``("random", 7)``; any other baseline name -> ``(name, 0)``."""
    if not isinstance(method, str):
        raise InputError(f"method must be a string; got {method!r}.")
    name, _, seed = method.partition(":")
    if name not in COMPARISON_METHODS or (seed and name != "random"):
        raise InputError(f"method must be 'gpr', one of {COMPARISON_METHOD_NAMES}, or 'random:SEED'; got {method!r}.")
    if seed:
        try:
            value = int(seed)
        except ValueError:
            raise InputError(f"the seed in method {method!r} must be an integer, e.g. 'random:7'.") from None
        if not 0 <= value < 2**32:
            raise InputError(f"the seed in method {method!r} must be between 0 and 2**32 - 1.")
        return name, value
    return name, 0


def check_method(method: str, top_k: int = 1) -> None:
    """Raise :class:`InputError` for an unknown method or an option it cannot honour."""
    if method == "gpr":
        return
    name, _ = parse_method(method)
    if name == "attention" and top_k != 1:
        raise InputError("the attention baseline is a single max-product path; use top_k=1 with method='attention'.")


def comparison_patterns(method: str, model: InfluenceModel, prep: Prepared, sources: torch.Tensor, *,
                      level: str = "attention", top_k: int = 1, readout: int | None = None
                      ) -> tuple[MethodEmbeddingLevel, MethodAttentionLevel | None]:
    """Run the baseline ``method`` on the shared pass ``prep`` for the ``sources`` (W,)."""
    name, seed = parse_method(method)
    return COMPARISON_METHODS[name](model, prep, sources, level=level, top_k=top_k, readout=readout, seed=seed)


__all__ = [
    "COMPARISON_METHODS", "COMPARISON_METHOD_NAMES", "parse_method", "check_method", "comparison_patterns",
    "attention_patterns", "conductance_patterns", "internal_influence_patterns", "random_patterns",
    "seed_spread", "Spread", "MethodEmbeddingLevel", "MethodAttentionLevel",
    "forced_embedding_level", "forced_attention_level",
]
