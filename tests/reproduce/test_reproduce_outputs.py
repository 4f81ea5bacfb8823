"""Table 1 and Figure 5 files: they exist, parse, and hold what the records say."""

from __future__ import annotations

import csv
import math
import xml.etree.ElementTree as ET

from ipyinfluence.reproduce import table1, to_markdown
from ipyinfluence.reproduce.instance_record import record_words

from _reproduce_helpers import N, TASK


def test_table1_csv_and_markdown(reference_run):
    out, records = reference_run
    with (out / "table1.csv").open() as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["metric", "label", TASK]
        rows = {r["metric"]: float(r[TASK]) for r in reader}
    assert rows["n"] == N
    # accuracies recomputed by hand from the records
    assert rows["original_accuracy"] == sum(r["ablation"]["original"] > 0 for r in records) / N
    assert rows["ablated_gpr_attention"] == sum(r["ablation"]["gpr"]["attention"] > 0 for r in records) / N
    for key in ("ablated_attention_embedding", "ablated_conductance_attention", "ablated_internal_influence_embedding",
                "ablated_random_embedding_mean", "ablated_random_attention_std", "ablated_replace_skip_attention",
                "concentration_embedding_positive", "path_share_attention", "skip_share", "alignment_rate",
                "entropy_attention", "mean_q"):
        assert key in rows
    for key, value in rows.items():
        if key.startswith(("ablated_", "original_", "skip_share", "alignment_", "path_share_", "entropy_")):
            assert 0.0 <= value <= 1.0 or math.isnan(value), key
    words = [w for r in records for w in record_words(r)]
    skips = sum(s.route == "skip" for w in words for s in w.attention.steps)
    assert rows["skip_share"] == skips / sum(len(w.attention.steps) for w in words)
    md = (out / "table1.md").read_text().splitlines()
    assert md[0] == f"| measurement | {TASK} |"
    assert len(md) == 2 + len(rows)
    assert md[1] == "|---|---:|"
    assert all(line.startswith("| ") and line.endswith(" |") and line.count(" | ") == 1 for line in md[2:])
    assert md == to_markdown(*table1(records)).splitlines()


def test_figure5_files(reference_run):
    out, records = reference_run
    assert (out / "figure5.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ET.parse(out / "figure5.svg").getroot().tag.endswith("svg")
    with (out / "figure5_positions.csv").open() as f:
        positions = list(csv.DictReader(f))
    # one point per source word of the template (all but the [MASK])
    assert [int(p["position"]) for p in positions] == records[0]["sources"]
    assert {p["role"] for p in positions} >= {"subject", "attractor", "[CLS]"}
    for p in positions:
        assert 0.0 <= float(p["entropy_attention"]) <= 1.0
    with (out / "figure5_tasks.csv").open() as f:
        (task,) = list(csv.DictReader(f))
    assert task["task"] == TASK
    assert float(task["mean_q"]) == sum(r["q"]["input"] for r in records) / N


def test_csv_files_hold_no_cell_a_spreadsheet_would_run(reference_run, tmp_path):
    """A task name or role such as =1+1 / @sum(a1) / -1+2 (a hand-edited results file) was a bare cell."""
    import copy

    from ipyinfluence.reproduce import write_figure5, write_table1

    _out, records = reference_run
    hostile = copy.deepcopy(records)
    for r in hostile:
        r["task"] = "=1+1"
        r["token_roles"] = ["@sum(a1)" if i == 1 else "-1+2" if i == 2 else role
                            for i, role in enumerate(r["token_roles"])]
    paths = [write_table1(hostile, tmp_path)[0]] + [p for p in write_figure5(hostile, tmp_path) if p.suffix == ".csv"]
    cells = []
    for p in paths:
        with p.open(newline="") as f:
            cells += [c for row in csv.reader(f) for c in row]
    assert {"'=1+1", "'@sum(a1)", "'-1+2"} <= set(cells)
    formulas = [c for c in cells if c.startswith(("=", "+", "@", "\t", "\r"))
                or (c.startswith("-") and not _is_number(c))]
    assert formulas == []
    assert any(c.startswith("-") and _is_number(c) for c in cells)  # negative numbers stay numbers


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True
