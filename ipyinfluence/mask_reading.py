"""Does the QoI read the ``[MASK]`` the text contains?

A subject-verb agreement sentence ("the author that the guards like [MASK] happy .")
asks which word fits the ``[MASK]``. Only a QoI that reads the model's prediction *at*
the ``[MASK]`` (a masked-LM head with :class:`~ipyinfluence.TokenContrast`) answers
that; a sentence encoder's cosine QoI (:class:`~ipyinfluence.EmbeddingSimilarity`) or a
classifier's class contrast reads the whole sentence and treats ``[MASK]`` as one more
word. :func:`unread_mask_message` says so in words; :func:`warn_if_mask_unread` also
issues a :class:`MaskNotReadWarning` (``iter_explain`` / ``explain`` call it).

A callable QoI on a masked LM may read the logits at the mask (``out.logits[:, k]``) or
anything else: nothing tells which, so it gets no warning there (telling it to load a
masked LM, which it has, was wrong; issue 16.17). ``CallableQoI(fn, readout_position=k)``
says where it reads, and is then treated like :class:`~ipyinfluence.TokenContrast`.
"""

from __future__ import annotations

import warnings
from typing import Optional

MLM_ADVICE = ("load a masked-LM model (e.g. load_model('google/bert_uncased_L-6_H-512_A-8'), BERT-small; "
              "or load_model('tiny') offline, random weights) and use TokenContrast('is', 'are'), "
              "which reads the logits at the {mask}")


class MaskNotReadWarning(UserWarning):
    """The text has a ``[MASK]`` that the QoI does not read."""


def _is_callable_qoi(qoi) -> bool:
    from .qoi import CallableQoI, QoI  # qoi imports the model; this module stays light

    return isinstance(qoi, CallableQoI) or (callable(qoi) and not isinstance(qoi, QoI))


def unread_mask_message(model, encoded, bound, qoi=None) -> Optional[str]:
    """A sentence explaining the mismatch, or None when the QoI reads the text's mask (or
    the text has none, or ``qoi``, the unbound QoI, is a callable on a masked LM: it may
    read the mask). ``encoded``: ``model.encode(text)``; ``bound``: the bound QoI."""
    mask = getattr(model, "mask_token", None) or "[MASK]"
    positions = [i for i, t in enumerate(encoded.tokens) if t == mask]
    if not positions or bound.readout_position in positions:
        return None
    if model.task == "masked-lm" and bound.readout_position is None and _is_callable_qoi(qoi):
        return None
    r = bound.readout_position
    reads = (f"the whole sentence (the {model.task} output)" if r is None
             else f"position {r} ({encoded.tokens[r]!r})")
    head = "" if model.task == "masked-lm" else f"; this {model.task} model has no masked-LM head"
    return (f"the text contains {mask} but the QoI ({bound.description}) reads {reads}, not the {mask}, "
            f"so the {mask} is just one more input word{head}. To ask which word fits the {mask}, "
            + MLM_ADVICE.format(mask=mask) + ".")


def warn_if_mask_unread(model, encoded, bound, stacklevel: int = 3, qoi=None) -> Optional[str]:
    """:func:`unread_mask_message`, also issued as a :class:`MaskNotReadWarning`."""
    message = unread_mask_message(model, encoded, bound, qoi)
    if message is not None:
        warnings.warn(message, MaskNotReadWarning, stacklevel=stacklevel)
    return message
