"""The encoder forward with nodes zeroed, for ablation (docs/method.md §6).

Layer by layer, from the engine's neutral weights (:class:`architectures.EncoderWeights`)
and :mod:`ipyinfluence.functional`'s pieces: ``h^0`` is computed and its dropped positions
zeroed; in each layer the dropped heads' context vectors are zeroed *before* ``W_O`` (so
``b_O`` is still added), the dropped skip inputs are left out of the residual sum, and
the layer output's dropped positions are zeroed before the next layer reads them. Kept
and zeroed nodes go on together, as "retained and replaced nodes together are forwarded
to the next layer". With every node kept it is the plain forward.
"""

from __future__ import annotations

import torch

from ..architectures import EncoderWeights, LayerWeights
from ..functional import embed, layer_forward
from .nodes import NodeMasks


def masked_layer(w: LayerWeights, x: torch.Tensor, heads: int, head_mask: torch.Tensor, skip_mask: torch.Tensor
                 ) -> torch.Tensor:
    """One layer with ``head_mask`` (N, A) on the context vectors and ``skip_mask`` (N,) on the residual."""
    return layer_forward(w, x, heads, head_mask=head_mask, skip_mask=skip_mask)[0]


def masked_forward(enc: EncoderWeights, word_vectors: torch.Tensor, masks: NodeMasks,
                   token_type_ids: torch.Tensor | None = None) -> list[torch.Tensor]:
    """``h^0..h^L`` (each (…, N, H)) with the nodes outside ``masks`` zeroed."""
    device = word_vectors.device
    hidden_mask = masks.hidden.to(device)
    h, _ = embed(enc.embeddings, word_vectors, token_type_ids)
    h = h * hidden_mask[0].unsqueeze(-1).to(h.dtype)
    out = [h]
    for l, lw in enumerate(enc.layers, start=1):
        h = masked_layer(lw, h, enc.num_heads, masks.heads[l - 1].to(device), masks.skips[l - 1].to(device))
        h = h * hidden_mask[l].unsqueeze(-1).to(h.dtype)
        out.append(h)
    return out
