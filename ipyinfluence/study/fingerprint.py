"""A fingerprint of a model's weights, so a study file is resumed only with the weights it was computed with.

A model is named by its folder or hub id, and a folder re-saved with other weights keeps
its name; the study header therefore stores a hash of every parameter and buffer (name,
dtype, shape and bytes). Hashing reads each tensor once (BLAKE2b, about 1 GB/s on one
core: ~0.1 s for a 22M-parameter model), so the result is cached on the model object and
recomputed only when a tensor changes: the cache key holds each tensor's identity,
storage pointer, dtype and version counter, which every in-place update (an optimiser
step, ``load_state_dict``) and every ``.to(...)`` changes.
"""

from __future__ import annotations

import hashlib

import torch

_CACHE = "_ipyinfluence_weights_fingerprint"


def _tensors(hf_model: torch.nn.Module):
    yield from hf_model.named_parameters()
    yield from hf_model.named_buffers()


def _key(hf_model: torch.nn.Module) -> tuple:
    return tuple((name, id(t), t.data_ptr(), t.dtype, t._version) for name, t in _tensors(hf_model))


def weights_fingerprint(model) -> str:
    """``"blake2b:<32 hex>"`` of ``model.hf_model``'s tensors (an InfluenceModel or a bare module)."""
    hf_model = getattr(model, "hf_model", model)
    key = _key(hf_model)
    cached = getattr(model, _CACHE, None)
    if cached is not None and cached[0] == key:
        return cached[1]
    h = hashlib.blake2b(digest_size=16)
    with torch.no_grad():
        for name, t in _tensors(hf_model):
            h.update(f"{name}|{t.dtype}|{tuple(t.shape)}\n".encode())
            flat = t.detach().reshape(-1).contiguous().cpu()
            h.update(flat.view(torch.uint8).numpy().data if flat.numel() else b"")
    digest = "blake2b:" + h.hexdigest()
    try:
        setattr(model, _CACHE, (key, digest))
    except AttributeError:  # an object that takes no attributes: compute again next time
        pass
    return digest
