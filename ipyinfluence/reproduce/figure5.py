"""Figure 5 of the paper from stored records.

* (a) per template position (a source word's role in a fixed-layout task): the entropy of
  that word's pattern over the task's instances against its mean influence magnitude
  ``mean |g_i|``;
* (b) per task: the entropy of ``Π_+`` against the mean QoI ``q(x)``.

Entropies at the attention level (``G_a``) are drawn; :func:`figure5_points` returns both
levels. Drawn on a bare ``matplotlib.figure.Figure`` (the Agg renderer for PNG, no pyplot, so a
notebook's backend is left alone and no display is needed), saved as PNG and SVG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..csv_cells import write_dicts
from ..results import LEVELS
from .instance_record import record_words
from .record_entropy import fixed_layout, position_entropy, task_entropy
from .table1 import by_task

PLOTTED_LEVEL = "attention"


def position_points(task: str, records: Sequence[dict]) -> list[dict]:
    """Panel (a) points of one task (none when its instances have no single layout)."""
    if len(records) < 1 or not fixed_layout(records):
        return []
    first = records[0]
    points = []
    for position in first["sources"]:
        magnitudes = [abs(next(w.total_influence for w in record_words(r) if w.position == position))
                      for r in records]
        point = {"task": task, "position": position, "role": first["token_roles"][position],
                 "mean_abs_influence": sum(magnitudes) / len(magnitudes), "instances": len(records)}
        for level in LEVELS:
            point[f"entropy_{level}"] = position_entropy(records, position, level)
        points.append(point)
    return points


def task_point(task: str, records: Sequence[dict]) -> dict:
    """Panel (b) point of one task."""
    point = {"task": task, "mean_q": sum(r["q"]["input"] for r in records) / len(records),
             "instances": len(records)}
    for level in LEVELS:
        point[f"entropy_{level}"] = task_entropy(records, level)
    return point


def figure5_points(records: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """``(position points, task points)`` over every task of the records."""
    positions, tasks = [], []
    for task, rs in by_task(records).items():
        positions += position_points(task, rs)
        tasks.append(task_point(task, rs))
    return positions, tasks


def _write_csv(path: Path, points: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        if not points:
            return
        write_dicts(f, list(points[0]), points)


def write_figure5(records: Sequence[dict], out: Path) -> list[Path]:
    """``figure5.png``, ``figure5.svg`` and the points as CSV in ``out``."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    out = Path(out)
    positions, tasks = figure5_points(records)
    key = f"entropy_{PLOTTED_LEVEL}"
    fig = Figure(figsize=(11, 4.5))
    ax_a, ax_b = fig.subplots(1, 2)
    colours = {t: colormaps["tab10"](i % 10) for i, t in enumerate(p["task"] for p in tasks)}
    for task in colours:
        pts = [p for p in positions if p["task"] == task]
        if not pts:
            continue
        ax_a.scatter([p["mean_abs_influence"] for p in pts], [p[key] for p in pts], color=colours[task], label=task)
        for p in pts:
            ax_a.annotate(p["role"], (p["mean_abs_influence"], p[key]), fontsize=6, alpha=0.7)
    ax_a.set_xlabel("mean |g_i| (influence magnitude)")
    ax_a.set_ylabel(f"pattern entropy Ĥ ({'G_a' if PLOTTED_LEVEL == 'attention' else 'G_e'})")
    ax_a.set_title("(a) per template position")
    if positions:
        ax_a.legend(fontsize=7)
    else:
        ax_a.text(0.5, 0.5, "no task with one token layout here\n(SST-2 sentences have no template positions)",
                  ha="center", va="center", transform=ax_a.transAxes, fontsize=9, color="0.4")
    for p in tasks:
        ax_b.scatter([p["mean_q"]], [p[key]], color=colours[p["task"]])
        ax_b.annotate(p["task"], (p["mean_q"], p[key]), fontsize=8)
    ax_b.set_xlabel("mean QoI q(x)")
    ax_b.set_ylabel("pattern entropy Ĥ(Π_+)")
    ax_b.set_title("(b) per task")
    for ax in (ax_a, ax_b):
        ax.ticklabel_format(style="sci", scilimits=(-3, 4), useMathText=True)
    fig.tight_layout()
    paths = [out / "figure5.png", out / "figure5.svg"]
    for p in paths:
        fig.savefig(p, dpi=150)
    _write_csv(out / "figure5_positions.csv", positions)
    _write_csv(out / "figure5_tasks.csv", tasks)
    return paths + [out / "figure5_positions.csv", out / "figure5_tasks.csv"]
