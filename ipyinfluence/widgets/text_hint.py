"""The line under the Explorer's text box: what is wrong with the text for this model and
QoI, before a run (no text, a missing or doubled ``[MASK]``, or a ``[MASK]`` the QoI does
not read, with the head that would)."""

from __future__ import annotations

from typing import Optional

from ..mask_reading import unread_mask_message
from ..qoi import as_qoi


def read_text(model, text: str, qoi_editor):
    """``(encoded, bound QoI)`` of the text, or None when it cannot be read yet (no model,
    bad text or QoI: the run says why)."""
    if model is None:
        return None
    try:
        encoded = model.encode(text)
        return encoded, as_qoi(qoi_editor.qoi()).bind(model, encoded)
    except Exception:  # noqa: BLE001 - the run reports bad input with its message
        return None


def text_hint(model, text: str, qoi_editor) -> str:
    """The hint (plain text, to be escaped), or ""."""
    if not text.strip():
        return "Type a sentence."
    if model is None:
        return ""
    if model.task == "masked-lm" and qoi_editor._position is None:
        mask = model.mask_token or "[MASK]"
        count = text.count(mask)
        if count == 0:
            return f"The text has no {mask}: the masked-LM QoI reads its prediction there; add one."
        if count > 1:
            return f"The text has {count} {mask} tokens; keep one."
    found: Optional[tuple] = read_text(model, text, qoi_editor)
    message = unread_mask_message(model, *found) if found is not None else None
    return f"Note: {message}" if message else ""
