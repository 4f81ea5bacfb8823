"""Google Colab renders third-party widgets (bqplot) only with its custom widget manager
turned on. :func:`enable_colab_widgets` turns it on when running inside Colab and does
nothing anywhere else; importing :mod:`ipyinfluence.widgets` calls it once.
"""

from __future__ import annotations

import sys

_enabled = False


def in_colab() -> bool:
    """True inside a Colab kernel (which imports ``google.colab`` at start-up)."""
    return "google.colab" in sys.modules


def enable_colab_widgets() -> bool:
    """Enable Colab's custom widget manager; returns whether it is (now) enabled.

    Safe to call many times and outside Colab (returns False there).
    """
    global _enabled
    if _enabled:
        return True
    if not in_colab():
        return False
    try:
        from google.colab import output  # type: ignore[import-not-found]
    except ImportError:
        return False
    try:
        output.enable_custom_widget_manager()
    except Exception:  # noqa: BLE001 - an old Colab without it still shows core widgets
        return False
    _enabled = True
    return True
