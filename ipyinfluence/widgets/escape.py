"""One escaping helper for every string that reaches an HTML widget.

Tokens, special tokens, model names, class labels, QoI descriptions and error messages
all come from outside (a model folder, the user, an exception): each is passed through
:func:`esc` before it is put into ``widgets.HTML`` (or any other HTML), so none can add
an element or run script. Widget *text* properties (``description`` without
``description_allow_html``, ``Label``, bqplot labels) are plain text already.
"""

from __future__ import annotations

import html


def esc(value) -> str:
    """``str(value)`` with ``& < > " '`` escaped (safe in element content and quoted attributes)."""
    return html.escape(str(value), quote=True)


def error_html(message, color: str = "#b00020") -> str:
    """An escaped error message in red (empty for an empty message)."""
    return f"<span style='color:{color}'>{esc(message)}</span>" if message else ""
