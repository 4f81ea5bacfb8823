"""Standalone exports of an explanation, built in Python (no browser, no network):

* :func:`to_svg` draws the same pattern picture as :class:`PatternGraph` (same layout
  from :mod:`.geometry`, same colours and widths from :mod:`.style`);
* :func:`to_html` is one self-contained page: the SVG inline, a table of the words and
  the full data as JSON in a ``<script type="application/json">`` block. It references
  no external URL at all (no CDN, no fonts, no ``xmlns`` URL: inline SVG in HTML needs
  none);
* :func:`to_json` is :meth:`Explanation.to_json` (it round-trips exactly);
* :func:`save` picks one of them from a file suffix.

SVG structure (stable, for tools and tests): grid nodes are ``<circle class="grid-node">``,
pattern nodes ``<circle class="pattern-node">``, each word is a
``<g class="pattern positive|negative" data-position=.. data-token=..>`` holding one
``<polyline class="edge solid|dashed">`` per run of same-style edges (one per word for a
GPR pattern at the embedding level); a ``<text class="head" data-position=..>`` per head
route sits in ``<g class="head-labels">`` on top of every line (placed as in the live
graph: one per head route, beside its own edge, never over another label). Every SVG
carries a ``<g class="legend">``: the sign colours and the width scale (widths are
shares of ``|q(x) − q(b)|``, as in the live graph). Lanes (patterns sharing a node run
side by side) are drawn as in the live graph too.

The HTML page adds the coloured sentence (each token shaded by ``g_i``, escaped) above
the picture.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Optional, Union

from ..results import SKIP, Explanation
from .coloured_sentence import sentence_html
from .decoder_marks import shown_token
from .escape import esc
from .geometry import PatternLayout, layout, place_head_labels, qoi_row, row_labels, token_rows
from .style import GRID_COLOR, NODE_COLOR, TEXT_COLOR, fmt, line_width, route_label, sign_color, svg_legend

SVG_NS = "http://www.w3.org/2000/svg"
COL_WIDTH = 72  # at least: wider when the token texts need it
ROW_HEIGHT = 58
LEFT = 56  # row labels
TOP = 44  # title
LEGEND = 40  # the colour / width legend under the title
BOTTOM = 46  # token text (one more line when staggered)
DASH = "7 5"


class _Frame:
    """Data coordinates (position, row) -> SVG pixels; row 0 at the bottom."""

    def __init__(self, lay: PatternLayout):
        self.rows = lay.num_rows
        self.tokens = token_rows(lay.tokens, min_col_px=COL_WIDTH)
        self.col = self.tokens.col_px
        self.width = round(LEFT + self.col * max(1, len(lay.tokens)) + 16)
        self.top = TOP + LEGEND
        self.height = round(self.top + ROW_HEIGHT * self.rows + BOTTOM + 18 * (self.tokens.num_rows - 1))

    def x(self, value: float) -> float:
        return round(LEFT + (value + 0.5) * self.col, 2)

    def y(self, row: float) -> float:
        return round(self.top + (self.rows - 1 - row + 0.5) * ROW_HEIGHT, 2)


def shown_words_text(explanation: Explanation, words: Optional[Iterable[int]] = None) -> str:
    """What a picture shows, said plainly: "all 40 computed words", or "1 of 40 computed
    words: students (27)" when only some are drawn (an export made while one word is picked
    once said "40/40 words" over a picture of one, issue 19.9)."""
    computed = sorted(w.position for w in explanation.words)
    shown = computed if words is None else [p for p in computed if p in {int(q) for q in words}]
    if len(shown) == len(computed):
        return f"all {len(computed)} computed words"
    by_pos = {w.position: w.token for w in explanation.words}
    names = ", ".join(f"{shown_token(by_pos[p])} ({p})" for p in shown[:6]) + (" …" if len(shown) > 6 else "")
    return f"{len(shown)} of {len(computed)} computed words" + (f": {names}" if shown else "")


def to_svg(explanation: Explanation, *, words: Optional[Iterable[int]] = None, level: str = "attention",
           palette: str = "paper", scale_max: Optional[float] = None, title: bool = True,
           xmlns: bool = True) -> str:
    """The influence-pattern picture of ``explanation`` as an SVG document string.

    ``words``: source positions to draw (all computed words when None); ``level``:
    "attention" (falls back to "embedding" when the results lack it) or "embedding";
    ``palette``: "paper" (green/red) or "colorblind" (blue/orange); ``scale_max``: the
    |influence| drawn at full width (default: the sentence's ``|q(x) − q(b)|``, the same
    for every method); ``xmlns=False`` leaves
    out the namespace attribute, for SVG inlined in HTML.
    """
    lay = layout(explanation, words, level, scale_max)
    f = _Frame(lay)
    labels = row_labels(lay.num_layers)
    top = qoi_row(lay.num_layers)
    ns = f' xmlns="{SVG_NS}"' if xmlns else ""
    out = [f'<svg{ns} class="ipyinfluence-pattern" width="{f.width}" height="{f.height}" '
           f'viewBox="0 0 {f.width} {f.height}" font-family="sans-serif" font-size="13">',
           f"<title>{esc(lay.level)}-level influence patterns: {esc(explanation.text)}</title>",
           f'<rect x="0" y="0" width="{f.width}" height="{f.height}" fill="white"/>']
    if title:
        out.append(f'<text class="title" x="{LEFT}" y="18" fill="{TEXT_COLOR}" font-weight="bold">'
                   f"{esc(lay.level.capitalize())}-level patterns · QoI {esc(explanation.qoi)}</text>")
        out.append(f'<text class="subtitle" x="{LEFT}" y="34" fill="{TEXT_COLOR}" font-size="11">'
                   f"{esc(explanation.model)} · q(x) − q(b) = {esc(fmt(explanation.q_input - explanation.q_baseline))}"
                   + (" · dashed = skip, Hn = head n"
                      if lay.level == "attention" else "")
                   + f" · drawn: {esc(shown_words_text(explanation, words))}</text>")
    legend, _height = svg_legend(LEFT, TOP, palette, lay.scale_max, lay.level == "attention")
    out.append(legend)
    for r, text in enumerate(labels):
        out.append(f'<text class="row-label" x="{LEFT - 8}" y="{f.y(r) + 4}" text-anchor="end" '
                   f'fill="{TEXT_COLOR}">{esc(text)}</text>')
    for p, (tok, text, line) in enumerate(zip(lay.tokens, f.tokens.texts, f.tokens.rows)):
        out.append(f'<text class="token" x="{f.x(p)}" y="{f.y(0) + 30 + 18 * line}" text-anchor="middle" '
                   f'fill="{TEXT_COLOR}" data-token="{esc(tok)}">{esc(text)}</text>')
    for x, r in lay.grid():
        out.append(f'<circle class="grid-node" cx="{f.x(x)}" cy="{f.y(r)}" r="4" fill="{GRID_COLOR}"/>')
    for d in lay.words:
        color = sign_color(d.sign, palette)
        width = round(line_width(d.influence, lay.scale_max), 2)
        kind = "positive" if d.sign >= 0 else "negative"
        out.append(f'<g class="pattern {kind}" data-position="{d.position}" data-token="{esc(d.word.token)}" '
                   f'data-influence="{d.influence!r}" data-total-influence="{d.word.total_influence!r}">')
        for points, style in d.polylines():
            pts = " ".join(f"{f.x(x)},{f.y(r)}" for x, r in points)
            dash = f' stroke-dasharray="{DASH}"' if style == "dashed" else ""
            out.append(f'<polyline class="edge {style}" points="{pts}" fill="none" stroke="{color}" '
                       f'stroke-width="{width}" stroke-linecap="round" stroke-linejoin="round"{dash}>'
                       f"<title>{esc(d.word.token)}_{d.position}: I(π) = {esc(fmt(d.influence))}</title></polyline>")
        out.append("</g>")
    heads = [f'<text class="head" x="{f.x(h.x)}" y="{f.y(h.y) + 4}" text-anchor="middle" fill="{TEXT_COLOR}" '
             f'stroke="white" stroke-width="3" paint-order="stroke" font-size="11" font-weight="bold" '
             f'data-position="{" ".join(str(p) for p in h.words)}">{esc(h.text)}</text>'
             for h in place_head_labels(lay, f.col, ROW_HEIGHT)]
    by_pos = {d.position: d for d in lay.words}
    for n in lay.nodes():
        where = "QoI" if n.row == top else f"{labels[n.row]}[{n.position}] {lay.tokens[n.position]}"
        tip = "; ".join(f"{by_pos[p].word.token}_{p} {fmt(v)}" for p, v in n.scores)
        out.append(f'<circle class="pattern-node" cx="{f.x(n.x)}" cy="{f.y(n.row)}" r="5.5" fill="{NODE_COLOR}" '
                   f'stroke="white" stroke-width="1.5"><title>{esc(where)} · {esc(tip)}</title></circle>')
    out.append('<g class="head-labels">')  # on top: a later word's line would hide them
    out.extend(heads)
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def _word_table(explanation: Explanation) -> str:
    rows = []
    for w in explanation.words:
        att = w.attention
        routes = "" if att is None else " ".join(route_label(r) if r != SKIP else "skip" for r in att.routes)
        rows.append(f"<tr><td>{w.position}</td><td>{esc(w.token)}</td><td>{esc(fmt(w.total_influence))}</td>"
                    f"<td>{esc(fmt(w.embedding.influence))}</td>"
                    f"<td>{'' if att is None else esc(fmt(att.influence))}</td>"
                    f"<td>{esc(' '.join(str(p) for p in w.embedding.positions))}</td><td>{esc(routes)}</td></tr>")
    return ("<table><thead><tr><th>pos</th><th>token</th><th>gᵢ</th><th>I(πᵉ)</th>"
            "<th>I(πᵃ)</th><th>positions h⁰..h<sup>L</sup></th><th>routes</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def to_html(explanation: Explanation, *, words: Optional[Iterable[int]] = None, level: str = "attention",
            palette: str = "paper", title: Optional[str] = None) -> str:
    """A standalone HTML page: inline SVG, a table of the words and the JSON data.

    Needs nothing from the network: no scripts run, no external resource is referenced.
    The data is in ``<script type="application/json" id="ipyinfluence-data">``.
    """
    svg = to_svg(explanation, words=words, level=level, palette=palette, xmlns=False)
    data = json.dumps(explanation.to_dict()).replace("<", "\\u003c")  # cannot close the script tag
    heading = title or f"Influence patterns: {explanation.text}"
    facts = (f"model {esc(explanation.model)} · QoI {esc(explanation.qoi)} · q(x) = {esc(fmt(explanation.q_input))}, "
             f"q(baseline) = {esc(fmt(explanation.q_baseline))} · baseline {esc(explanation.baseline)} · "
             f"{explanation.steps} steps · level {esc(explanation.level)} · top_k {explanation.top_k} · "
             f"method {esc(explanation.method)} · {len(explanation.words)}/{len(explanation.sources)} words computed · "
             f"<b class='drawn'>drawn: {esc(shown_words_text(explanation, words))}</b>")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{esc(heading)}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; margin-top: 1em; font-size: 13px; }}
td, th {{ border: 1px solid #ccc; padding: 2px 8px; text-align: right; }}
.facts {{ color: #555; font-size: 13px; }}
</style>
</head>
<body>
<h1>{esc(heading)}</h1>
<p class="facts">{facts}</p>
{sentence_html(explanation, palette)}
{svg}
{_word_table(explanation)}
<script type="application/json" id="ipyinfluence-data">{data}</script>
</body>
</html>
"""


def to_json(explanation: Explanation, **kwargs) -> str:
    """:meth:`Explanation.to_json` (``Explanation.from_json`` reads it back exactly)."""
    return explanation.to_json(**kwargs)


EXPORTERS = {".svg": to_svg, ".html": to_html, ".htm": to_html, ".json": to_json}


def export_text(explanation: Explanation, kind: str, **kwargs) -> str:
    """``kind`` is "svg", "html" or "json"."""
    fn = EXPORTERS.get("." + kind.lower().lstrip("."))
    if fn is None:
        raise ValueError(f"export kind must be svg, html or json; got {kind!r}.")
    return fn(explanation, **kwargs)


def save(explanation: Explanation, path: Union[str, Path], **kwargs) -> Path:
    """Write ``explanation`` to ``path`` as SVG, HTML or JSON (from the suffix)."""
    path = Path(path)
    text = export_text(explanation, path.suffix or "?", **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
