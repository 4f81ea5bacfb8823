"""A study's view as standalone SVG / HTML (no network, no script): the layer × route heat
map of one role and condition, the aggregate numbers, and the last ablation. Every string
from the study (roles, words, sentences, model names, patterns) is escaped."""

from __future__ import annotations

import math
from typing import Optional

from ..study.ablate import AblationResult
from ..study.aggregate import Aggregates
from .escape import esc

CELL_W, CELL_H, LEFT, TOP = 44, 28, 70, 46


def share_color(share: float) -> str:
    """White (0) to deep blue (1); grey for nan."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "#dddddd"
    s = min(1.0, max(0.0, share))
    r, g, b = (int(round(255 + (c - 255) * s)) for c in (8, 69, 148))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap_svg(agg: Aggregates, role: str, condition: str = "all", title: Optional[str] = None) -> str:
    grid = agg.heatmap(role, condition)
    cols = agg.route_columns()
    width = LEFT + CELL_W * len(cols) + 20
    height = TOP + CELL_H * len(grid) + 30
    e = esc
    title = title or f"{role} · {condition}: share of patterns per layer and route"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11" class="ipyinfluence-study-svg">',
           f'<text x="4" y="16" font-size="13">{e(title)}</text>']
    for c, name in enumerate(cols):
        out.append(f'<text x="{LEFT + c * CELL_W + CELL_W / 2}" y="{TOP - 8}" text-anchor="middle">{e(name)}</text>')
    for r, row in enumerate(grid):
        y = TOP + r * CELL_H
        out.append(f'<text x="{LEFT - 8}" y="{y + CELL_H / 2 + 4}" text-anchor="end">layer {r + 1}</text>')
        for c, share in enumerate(row):
            x = LEFT + c * CELL_W
            label = "" if math.isnan(share) else f"{share:.0%}"
            ink = "#ffffff" if not math.isnan(share) and share > 0.55 else "#222222"
            out.append(f'<rect x="{x}" y="{y}" width="{CELL_W - 2}" height="{CELL_H - 2}" fill="{share_color(share)}">'
                       f'<title>{e(f"layer {r + 1}, {cols[c]}: {label}")}</title></rect>')
            out.append(f'<text x="{x + CELL_W / 2 - 1}" y="{y + CELL_H / 2 + 4}" text-anchor="middle" '
                       f'fill="{ink}">{e(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def aggregate_table_html(agg: Aggregates, condition: str = "all") -> str:
    e = esc
    rows = []
    for role in agg.roles:
        a = agg.groups.get(condition, {}).get(role)
        if a is None:
            continue
        top = a.patterns[0] if a.patterns else ("", 0)
        ent = "–" if math.isnan(a.entropy) else f"{a.entropy:.3f}"
        rows.append(f"<tr><td>{e(role)}</td><td>{a.count}</td><td>{a.g_mean:+.4g} ± {a.g_std:.3g}</td>"
                    f"<td>{e(ent)}</td><td>{e(top[0])}</td><td>{top[1] / a.count:.0%}</td></tr>")
    return ("<table class='ipyinfluence-study-table'><thead><tr><th>role</th><th>n</th><th>g (mean ± sd)</th>"
            "<th>Ĥ</th><th>most common pattern</th><th>share</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def ablation_html(result: Optional[AblationResult]) -> str:
    if result is None:
        return ""
    e = esc
    body = "".join(f"<tr><td>{e(name)}</td><td>{q:+.4g}</td><td>{acc:.0%}</td></tr>"
                   for name, q, acc in result.summary_rows())
    return (f"<table class='ipyinfluence-ablation-table'><thead><tr><th>{len(result.indices)} sentences</th>"
            "<th>mean q</th><th>accuracy (q &gt; 0)</th></tr></thead><tbody>" + body + "</tbody></table>")


HIST_BINS = 10
HIST_SERIES = (("before", "#2b8cbe"), ("after", "#e6550d"), ("control", "#969696"))


def ablation_histogram(result: AblationResult, bins: int = HIST_BINS) -> tuple[list[str], list[list[int]]]:
    """The q histograms of an ablation, one shared set of bins: a label per bin (its centre,
    with as many decimals as tell neighbours apart) and the counts before / after / control."""
    allq = [q for qs in (result.q_before, result.q_after, result.q_control) for q in qs]
    lo, hi = (min(allq), max(allq)) if allq else (0.0, 0.0)
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    width = (hi - lo) / bins
    edges = [lo + i * width for i in range(bins + 1)]
    decimals = max(0, 1 - math.floor(math.log10(width)))
    labels = [f"{(a + b) / 2:+.{decimals}f}" for a, b in zip(edges[:-1], edges[1:])]
    counts = []
    for qs in (result.q_before, result.q_after, result.q_control):
        row = [0] * bins
        for q in qs:
            row[min(bins - 1, max(0, int((q - lo) // width)))] += 1  # the top edge goes in the last bin
        counts.append(row)
    return labels, counts


def ablation_histogram_svg(result: Optional[AblationResult]) -> str:
    """The histogram the view draws, as static SVG: grouped bars per bin, counts on the left."""
    if result is None:
        return ""
    labels, counts = ablation_histogram(result)
    left, top, bar_w, plot_h = 40, 30, 12, 160
    group = bar_w * len(counts) + 8
    width, height = left + group * len(labels) + 20, top + plot_h + 60
    most = max(1, max(max(row) for row in counts))
    e = esc
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} '
           f'{height}" font-family="sans-serif" font-size="11" class="ipyinfluence-ablation-histogram">',
           '<text x="4" y="16" font-size="13">q before / after ablation / random control (sentences per bin)</text>',
           f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" stroke="#444"/>',
           f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{most}</text>',
           f'<text x="{left - 6}" y="{top + plot_h + 4}" text-anchor="end">0</text>']
    for b, label in enumerate(labels):
        x0 = left + b * group + 4
        for s, ((name, colour), row) in enumerate(zip(HIST_SERIES, counts)):
            h = plot_h * row[b] / most
            out.append(f'<rect x="{x0 + s * bar_w}" y="{top + plot_h - h:.1f}" width="{bar_w - 1}" height="{h:.1f}" '
                       f'fill="{colour}"><title>{e(f"{name}, q ≈ {label}: {row[b]}")}</title></rect>')
        out.append(f'<text x="{x0 + group / 2 - 4}" y="{top + plot_h + 14}" text-anchor="end" '
                   f'transform="rotate(-45 {x0 + group / 2 - 4} {top + plot_h + 14})">{e(label)}</text>')
    legend = " ".join(f'<tspan fill="{c}">■</tspan> {e(n)}' for n, c in HIST_SERIES)
    out.append(f'<text x="{left}" y="{height - 6}">{legend} · x: q</text></svg>')
    return "".join(out)


def study_html(agg: Aggregates, role: str, condition: str, *, model: str = "", description: str = "",
               ablation: Optional[AblationResult] = None) -> str:
    e = esc
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>ipyinfluence study</title>"
            "<style>body{font-family:sans-serif}td,th{padding:2px 8px;border-bottom:1px solid #ddd}</style>"
            f"</head><body><h2>Study: {e(description)}</h2><p>model: {e(model)} · split by {e(agg.by)} · "
            f"condition {e(condition)}</p>" + heatmap_svg(agg, role, condition)
            + aggregate_table_html(agg, condition) + ablation_html(ablation)
            + ablation_histogram_svg(ablation) + "</body></html>")
