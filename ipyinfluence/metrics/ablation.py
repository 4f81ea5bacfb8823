"""Ablation (docs/method.md §6): keep only a node set Π at the real input (α = 1), zero the rest,
run the network on, and read the QoI.

* Embedding level: positions of ``h^0..h^L`` not in Π are zeroed.
* Attention level: also head context vectors (before ``W_O``; ``b_O`` is still added)
  and skip inputs not in Π.

Ablated accuracy is the share of instances with ``q > 0`` after ablation, original
accuracy the share with ``q > 0`` unablated. A baseline's Π should hold as many nodes
per layer as GPR's (see :func:`ipyinfluence.metrics.nodes.match_layer_counts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import torch

from ..model import InfluenceModel
from ..qoi import as_qoi
from .masked_forward import masked_forward
from .nodes import Node, node_masks


@dataclass
class Ablated:
    """The QoI of one instance before and after ablation."""

    q_original: float
    q_ablated: float


@torch.no_grad()
def ablate(model: InfluenceModel, text: str, qoi, nodes: Iterable[Node], level: str = "embedding") -> Ablated:
    """``q`` at the real input, unablated and with only ``nodes`` kept (at ``level``)."""
    encoded = model.encode(text)
    bound = as_qoi(qoi).bind(model, encoded)
    ids = torch.as_tensor(encoded.input_ids, device=model.device).reshape(1, -1)
    x = model.word_vectors(ids)
    enc = model.weights
    masks = node_masks(nodes, enc.num_layers, len(encoded), enc.num_heads, level, device=model.device)
    original = bound(model.outputs(model.forward(x).hidden[-1]))
    ablated = bound(model.outputs(masked_forward(enc, x, masks)[-1]))
    return Ablated(q_original=float(original[0]), q_ablated=float(ablated[0]))


@dataclass
class AblationAccuracy:
    """Share of instances with ``q > 0``, unablated and ablated (nan when there are none)."""

    original: float
    ablated: float
    count: int
    instances: list[Ablated] = field(default_factory=list)


def ablation_accuracy(model: InfluenceModel, instances: Iterable[tuple], level: str = "embedding"
                      ) -> AblationAccuracy:
    """Accuracies over ``instances``, each ``(text, qoi, nodes)`` (``nodes`` usually ``Π_+``)."""
    results = [ablate(model, text, qoi, nodes, level) for text, qoi, nodes in instances]
    n = len(results)
    if n == 0:
        return AblationAccuracy(original=float("nan"), ablated=float("nan"), count=0)
    return AblationAccuracy(
        original=sum(r.q_original > 0 for r in results) / n,
        ablated=sum(r.q_ablated > 0 for r in results) / n,
        count=n,
        instances=results,
    )
