"""Colours, line widths and labels shared by the live graph (bqplot) and the SVG export,
so both draw the same picture.

The paper draws positively influential words' patterns in green and negatively
influential ones in red; ``"colorblind"`` swaps in the Okabe–Ito blue/orange pair,
which stays distinct under the common colour-vision deficiencies.
"""

from __future__ import annotations

import math

PALETTES: dict[str, dict[str, str]] = {
    "paper": {"positive": "#1a9641", "negative": "#d7191c"},
    "colorblind": {"positive": "#0072b2", "negative": "#e69f00"},
}
GRID_COLOR = "#c8c8c8"
NODE_COLOR = "#333333"
TEXT_COLOR = "#222222"

MIN_WIDTH = 1.5  # px: the weakest drawn pattern stays visible
MAX_WIDTH = 8.0  # px: the strongest

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def check_palette(palette: str) -> str:
    if palette not in PALETTES:
        raise ValueError(f"palette must be one of {sorted(PALETTES)}; got {palette!r}.")
    return palette


def sign_color(sign: int, palette: str = "paper") -> str:
    """Colour of a word with ``σ_i = sign`` (+1 or -1)."""
    colors = PALETTES[check_palette(palette)]
    return colors["positive"] if sign >= 0 else colors["negative"]


def line_width(influence: float, scale_max: float) -> float:
    """Stroke width proportional to ``|influence| / scale_max`` between MIN and MAX."""
    if not scale_max or not math.isfinite(scale_max) or not math.isfinite(influence):
        return MIN_WIDTH
    share = min(1.0, abs(influence) / scale_max)
    return MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * share


def layer_label(layer: int) -> str:
    """``h⁰``, ``h¹``, … for the hidden-state rows."""
    return "h" + str(layer).translate(_SUPERSCRIPT)


def fmt(value: float) -> str:
    """Influence values span many orders of magnitude: 3 significant digits with a sign."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    return f"{value:+.3g}"


def route_label(route) -> str:
    """Text drawn on an attention route: the head index as stored in the results (0-based)."""
    return "skip" if route == "skip" else f"H{route}"
