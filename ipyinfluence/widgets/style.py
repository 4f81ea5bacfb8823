"""Colours, line widths, label sizes and legends shared by every view (bqplot graph, bars,
step-through, coloured sentence) and the SVG/HTML exports, so all draw the same picture.

One colour meaning per view set: **hue is the sign of an influence** and nothing else.
The paper draws positively influential words' patterns in green and negatively
influential ones in red; ``"colorblind"`` swaps in the Okabe–Ito blue/orange pair, which
stays distinct under the common colour-vision deficiencies. No other view uses a hue for
anything else: the bars tell ``g_i`` and the two pattern levels apart by grey shades
(:data:`SERIES_COLORS`), never blue/orange.

Line widths are comparable across runs and methods: a pattern's width is its influence
as a share of the sentence's ``|q(x) − q(b)|`` (:func:`width_reference`), the same
number for every method run on that sentence, QoI and baseline. A baseline whose
patterns carry 1e-14 is drawn at the minimum width next to GPR's thick lines. Width grows
with the square root of that share (so 1% and 10% still differ), and every legend draws
sample strokes with the shares they stand for.
"""

from __future__ import annotations

import math
from typing import Iterable, Optional

from .escape import esc

PALETTES: dict[str, dict[str, str]] = {
    "paper": {"positive": "#1a9641", "negative": "#d7191c"},
    "colorblind": {"positive": "#0072b2", "negative": "#e69f00"},
}
GRID_COLOR = "#c8c8c8"
NODE_COLOR = "#333333"
TEXT_COLOR = "#222222"
HIGHLIGHT_COLOR = "#fff3c4"  # background of a selected row / token (not a sign colour)

# The bars' series: g_i, I(π^e), I(π^a). Achromatic, light to dark, so that hue keeps
# meaning "sign" in every view (the bar's direction shows its sign).
SERIES_NAMES = ("total gᵢ", "embedding pattern I(πᵉ)", "attention pattern I(πᵃ)")
SERIES_COLORS = ("#c4c4c4", "#7a7a7a", "#2b2b2b")

MIN_WIDTH = 1.0  # px: the weakest drawn pattern stays visible
MAX_WIDTH = 10.0  # px: a pattern carrying all of |q(x) − q(b)| (or more)

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def check_palette(palette: str) -> str:
    if palette not in PALETTES:
        raise ValueError(f"palette must be one of {sorted(PALETTES)}; got {palette!r}.")
    return palette


def sign_color(sign: int, palette: str = "paper") -> str:
    """Colour of a word with ``σ_i = sign`` (+1 or -1)."""
    colors = PALETTES[check_palette(palette)]
    return colors["positive"] if sign >= 0 else colors["negative"]


def width_reference(explanation) -> float:
    """The influence drawn at full width: ``|q(x) − q(b)|`` of the explanation's sentence
    (the same for every pattern method on that sentence, QoI and baseline). When the QoI
    does not move (0), the largest ``|g_i|``; 1.0 when there is nothing at all."""
    delta = abs(explanation.q_input - explanation.q_baseline)
    if math.isfinite(delta) and delta > 0:
        return delta
    g = max((abs(w.total_influence) for w in explanation.words if math.isfinite(w.total_influence)), default=0.0)
    return g if g > 0 else 1.0


def shared_width_reference(explanations: Iterable) -> float:
    """One width scale for several explanations (CompareView): the largest reference."""
    return max((width_reference(e) for e in explanations if e is not None), default=1.0)


def width_share(influence: float, reference: float) -> float:
    """``|influence| / reference`` clipped to [0, 1] (0 for nan or a bad reference)."""
    if not reference or not math.isfinite(reference) or not math.isfinite(influence):
        return 0.0
    return min(1.0, abs(influence) / reference)


def line_width(influence: float, reference: float) -> float:
    """Stroke width: MIN + (MAX − MIN) · √(``|influence| / reference``) (clipped). The
    square root keeps a pattern carrying 5% of the QoI's change visibly wider (3 px) than
    one carrying nothing (1 px); the legend shows sample widths with their shares."""
    return MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * math.sqrt(width_share(influence, reference))


WIDTH_STEP = 1.0  # px: the live graph draws widths in these steps (one bqplot mark per step)
DRAWN_WIDTHS = tuple(MIN_WIDTH + WIDTH_STEP * k for k in range(int(round((MAX_WIDTH - MIN_WIDTH) / WIDTH_STEP)) + 1))


def drawn_width(width: float) -> float:
    """``width`` snapped to the nearest of :data:`DRAWN_WIDTHS` (halves round up). The live
    :class:`~.pattern_graph.PatternGraph` draws every segment of one width step and line style
    in one fixed bqplot mark, so a redraw only re-sends data (its legend says so); exports
    keep the exact :func:`line_width`."""
    k = math.floor((min(max(width, MIN_WIDTH), MAX_WIDTH) - MIN_WIDTH) / WIDTH_STEP + 0.5)
    return DRAWN_WIDTHS[k]


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


def mix(color: str, share: float, background: str = "#ffffff") -> str:
    """``color`` blended into ``background``: share 1 is the colour, 0 the background."""
    share = 0.0 if not math.isfinite(share) else max(0.0, min(1.0, share))
    a = [int(color[i:i + 2], 16) for i in (1, 3, 5)]
    b = [int(background[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(y + (x - y) * share):02x}" for x, y in zip(a, b))


def shade(value: float, reference: float, palette: str = "paper") -> str:
    """Background of a token whose influence is ``value``: its sign's colour, as strong as
    ``|value| / reference`` (the coloured sentence, like Captum's ``visualize_text``)."""
    sign = -1 if value < 0 else 1
    return mix(sign_color(sign, palette), 0.85 * width_share(value, reference))


# -- text sizes (estimates, checked against real bounding boxes in the browser tests) ----
_NARROW = set("ijlI.,:;'!|()[]ftr ")
_WIDE = set("mwMW@%")


def text_width(text: str, font_px: float = 13.0, bold: bool = False) -> float:
    """A generous estimate of ``text``'s rendered width in px for a sans-serif font (so
    labels placed with it do not overlap in the browser)."""
    units = 0.0
    for ch in text:
        if ch in _NARROW:
            units += 0.34
        elif ch in _WIDE:
            units += 0.9
        elif ch.isupper() or ch.isdigit() or ch in "#_~<>":
            units += 0.7
        elif ord(ch) > 0x2000:
            units += 1.0  # symbols, CJK: wide
        else:
            units += 0.58
    return units * font_px * (1.08 if bold else 1.0) + 2.0


def truncate(text: str, max_chars: int = 14) -> str:
    return text if len(text) <= max_chars else text[:max_chars - 1] + "…"


# -- legends -------------------------------------------------------------------------------
def sign_legend_html(palette: str = "paper") -> str:
    colors = PALETTES[check_palette(palette)]
    return (f"<span style='color:{colors['positive']};font-weight:bold'>━ positive</span> "
            f"<span style='color:{colors['negative']};font-weight:bold'>━ negative</span> influence")


LEGEND_SHARES = (1.0, 0.25, 0.05, 0.01, 0.0)


def width_legend_html(reference: float, shares: tuple[float, ...] = LEGEND_SHARES, *, stepped: bool = False) -> str:
    """Sample strokes and what they mean: the width scale, in the legend of every view.
    ``stepped``: the view draws widths in :data:`WIDTH_STEP` steps (:func:`drawn_width`):
    the samples are drawn so too, and the legend says so."""
    samples = []
    for s in shares:
        w = line_width(s * reference, reference)
        if stepped:
            w = drawn_width(w)
        label = "≥ 100%" if s == 1.0 else f"{s:.0%}"
        samples.append(f"<span style='display:inline-block;width:26px;height:{w:.1f}px;background:#555;"
                       f"vertical-align:middle;margin:0 3px'></span>{label}")
    step = f", drawn in {WIDTH_STEP:g} px steps" if stepped else ""
    return (f"width (√ scale{step}) = |I(π)| as a share of |q(x) − q(b)| = "
            f"{esc(fmt(reference).lstrip('+'))}: " + " ".join(samples))


def svg_legend(x: float, y: float, palette: str, reference: float, attention: bool) -> tuple[str, float]:
    """An SVG ``<g class="legend">`` at ``(x, y)`` (top-left) with the colour and width
    scales; returns it and its height."""
    colors = PALETTES[check_palette(palette)]
    parts = [f'<g class="legend" transform="translate({x},{y})" font-size="11" fill="{TEXT_COLOR}">']
    cx = 0.0
    for name, color in (("positive", colors["positive"]), ("negative", colors["negative"])):
        parts.append(f'<line class="legend-sign {name}" x1="{cx}" y1="6" x2="{cx + 22}" y2="6" stroke="{color}" '
                     f'stroke-width="4"/><text x="{cx + 26}" y="10">{name} influence</text>')
        cx += 26 + text_width(f"{name} influence", 11) + 10
    if attention:
        parts.append(f'<line x1="{cx}" y1="6" x2="{cx + 22}" y2="6" stroke="#555" stroke-width="2" '
                     f'stroke-dasharray="5 4"/><text x="{cx + 26}" y="10">skip · Hn = head n</text>')
    caption = f"width ∝ √(|I(π)| / |q(x) − q(b)|), {fmt(reference).lstrip('+')} = full:"
    parts.append(f'<text x="0" y="28">{esc(caption)}</text>')
    cx = text_width(caption, 11) + 8
    for s in LEGEND_SHARES:
        w = round(line_width(s * reference, reference), 2)
        label = "≥ 100%" if s == 1.0 else f"{s:.0%}"
        parts.append(f'<line class="legend-width" data-share="{s}" x1="{cx}" y1="24" x2="{cx + 22}" y2="24" '
                     f'stroke="#555" stroke-width="{w}"/><text x="{cx + 26}" y="28">{label}</text>')
        cx += 26 + text_width(label, 11) + 10
    parts.append("</g>")
    return "\n".join(parts), 36.0


def optional_float(value: Optional[float]) -> Optional[float]:
    return None if value is None else float(value)
