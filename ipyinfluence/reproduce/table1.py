"""Table 1 of the paper from stored records: one column per task, one row per measurement.

Rows (SPEC §6; GPR unless named):

* original accuracy, and the ablated accuracy of ``Π_+^e`` / ``Π_+^a`` and of every
  baseline's ``Π_+`` at both levels (node counts matched to GPR's per layer); the random
  baseline as the mean and sample standard deviation over its seeds; ``replace_skip`` at the
  attention level. Accuracy = share of instances with ``q > 0`` (SA: QoI oriented by the
  gold label, see :mod:`.task_instances`).
* concentration ``I(x, π_i)/g_i`` over positive and negative words, at both levels;
* path share of ``Π_+`` (mean over instances), skip share, alignment rate (and chance 1/A);
* pattern entropy ``Ĥ(Π_+)`` at both levels (:mod:`.record_entropy`), mean ``q(x)``.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Sequence

from ..csv_cells import write_rows
from ..methods import COMPARISON_METHOD_NAMES
from ..metrics import concentration, skip_share
from ..tasks import TASKS
from ..results import LEVELS
from .instance_record import record_words
from .record_entropy import task_entropy

LEVEL_MARK = {"embedding": "e", "attention": "a"}


def _mean(values) -> float:
    values = list(values)
    return math.fsum(values) / len(values) if values else math.nan


def _accuracy(qs) -> float:
    return _mean(1.0 if q > 0 else 0.0 for q in qs)


def _methods(records: Sequence[dict]) -> list[str]:
    """Ablated node sets present in the records, in table order (random seeds folded)."""
    seen = {m for r in records for m in r["ablation"] if m != "original"}
    out = ["gpr"] + [m for m in COMPARISON_METHOD_NAMES if m in seen and m != "random"]
    if any(m.startswith("random:") for m in seen):
        out.append("random")
    if "replace_skip" in seen:
        out.append("replace_skip")
    return out


def row_labels(records: Sequence[dict]) -> list[tuple[str, str]]:
    """``(key, label)`` of every row, in order, for the methods the records hold."""
    rows = [("n", "instances"), ("original_accuracy", "original accuracy")]
    for m in _methods(records):
        levels = ("attention",) if m == "replace_skip" else LEVELS
        for level in levels:
            name = f"Π_+^{LEVEL_MARK[level]}" if m == "gpr" else f"{m} ({LEVEL_MARK[level]})"
            if m == "random":
                rows += [(f"ablated_random_{level}_mean", f"ablated accuracy, {name}, mean over seeds"),
                         (f"ablated_random_{level}_std", f"ablated accuracy, {name}, std over seeds")]
            else:
                rows.append((f"ablated_{m}_{level}", f"ablated accuracy, {name}"))
    for level in LEVELS:
        for sign in ("positive", "negative"):
            rows.append((f"concentration_{level}_{sign}", f"concentration π^{LEVEL_MARK[level]}, {sign} words"))
    rows += [(f"path_share_{level}", f"path share Π_+^{LEVEL_MARK[level]}") for level in LEVELS]
    rows += [("skip_share", "skip share (π^a transitions)"), ("alignment_rate", "alignment rate"),
             ("alignment_chance", "alignment chance (1/A)")]
    rows += [(f"entropy_{level}", f"pattern entropy Ĥ(Π_+^{LEVEL_MARK[level]})") for level in LEVELS]
    rows.append(("mean_q", "mean QoI q(x)"))
    return rows


def task_column(records: Sequence[dict]) -> dict[str, float]:
    """Every Table 1 value for the records of one task."""
    col: dict[str, float] = {"n": float(len(records))}
    if not records:
        return col
    col["original_accuracy"] = _accuracy(r["ablation"]["original"] for r in records)
    for m in _methods(records):
        if m == "random":
            seeds = sorted({k for r in records for k in r["ablation"] if k.startswith("random:")})
            for level in LEVELS:
                accs = [_accuracy(r["ablation"][s][level] for r in records if s in r["ablation"]) for s in seeds]
                col[f"ablated_random_{level}_mean"] = statistics.fmean(accs)
                col[f"ablated_random_{level}_std"] = statistics.stdev(accs) if len(accs) > 1 else 0.0
            continue
        for level in (("attention",) if m == "replace_skip" else LEVELS):
            col[f"ablated_{m}_{level}"] = _accuracy(r["ablation"][m][level] for r in records if m in r["ablation"])
    words = [w for r in records for w in record_words(r)]
    for level in LEVELS:
        c = concentration(words, level)
        col[f"concentration_{level}_positive"], col[f"concentration_{level}_negative"] = c.positive, c.negative
        col[f"path_share_{level}"] = _mean(k / t for k, t in (r["path_share"][level] for r in records) if t)
        col[f"entropy_{level}"] = task_entropy(records, level)
    col["skip_share"] = skip_share(words).share
    aligned = sum(r["alignment"][0] for r in records)
    transitions = sum(r["alignment"][1] for r in records)
    col["alignment_rate"] = aligned / transitions if transitions else math.nan
    col["alignment_chance"] = 1.0 / records[0]["num_heads"]
    col["mean_q"] = _mean(r["q"]["input"] for r in records)
    return col


def by_task(records: Sequence[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        groups[r["task"]].append(r)
    order = list(TASKS)
    return {t: groups[t] for t in sorted(groups, key=lambda t: (order.index(t) if t in order else len(order), t))}


def table1(records: Sequence[dict]) -> tuple[list[tuple[str, str]], dict[str, dict[str, float]]]:
    """``(rows, columns)``: row keys and labels, and per task its column."""
    return row_labels(records), {task: task_column(rs) for task, rs in by_task(records).items()}


def format_cell(key: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if key == "n":
        return str(int(value))
    if key.startswith(("ablated_", "original_", "skip_share", "alignment_")):
        return f"{100 * value:.1f}%"
    if key.startswith(("path_share", "mean_q")):
        return f"{value:.3g}"
    return f"{value:.3f}"


def to_markdown(rows, columns) -> str:
    tasks = list(columns)
    lines = ["| measurement | " + " | ".join(tasks) + " |", "|---|" + "---:|" * len(tasks)]
    for key, label in rows:
        lines.append(f"| {label} | " + " | ".join(format_cell(key, columns[t].get(key)) for t in tasks) + " |")
    return "\n".join(lines) + "\n"


def write_table1(records: Sequence[dict], out: Path) -> tuple[Path, Path]:
    """``table1.csv`` (raw numbers, nan where undefined) and ``table1.md`` in ``out``."""
    rows, columns = table1(records)
    out = Path(out)
    csv_path, md_path = out / "table1.csv", out / "table1.md"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        write_rows(f, ["metric", "label"] + list(columns),
                   ([key, label] + [float(columns[t].get(key, math.nan)) for t in columns] for key, label in rows))
    md_path.write_text(to_markdown(rows, columns), encoding="utf-8")
    return csv_path, md_path
