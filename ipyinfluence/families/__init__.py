"""Decoder families (docs/method.md §10): each module reads a Hugging Face causal LM into the
engine's :class:`~ipyinfluence.blocks.pre_ln.DecoderLayer` parts; :data:`READERS` maps a
config's ``model_type`` to its reader.

Adding a family is a local change of at most three files:
1. a reader here (``families/<name>.py``) that fills ``DecoderLayer`` from the model's
   modules: its norms (:class:`~ipyinfluence.blocks.norms.Norm`), attention (heads,
   key/value groups, biases, QK-norm, rotary tables, scale, sliding window) and MLP
   (gated or plain), the embedding (scale, learned positions) and the final norm + head;
2. its entry in :data:`READERS` below;
3. a tiny random config for the tests (``ipyinfluence/tiny.py``).
A block whose computation these parts cannot express (parallel attention and MLP, mixtures
of experts, cross-attention, logit soft-capping inside attention) needs a block of its own
in :mod:`ipyinfluence.blocks` implementing the protocol there; the sweeps, QoIs and views
stay as they are.
"""

from __future__ import annotations

from . import gemma3, gpt2, llama

READERS = {
    "llama": llama.read,
    "qwen2": llama.read,
    "qwen3": llama.read,
    "gemma3_text": gemma3.read,
    "gpt2": gpt2.read,
}
DECODER_FAMILIES = tuple(READERS)
