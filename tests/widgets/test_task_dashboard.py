"""``TaskDashboard`` headless: it runs a task through the CLI's per-instance function and
streams Table 1 and Figure 5 as instances complete."""

from __future__ import annotations

import math

import pytest

from ipyinfluence.reproduce import run_instance, table1
from ipyinfluence.widgets import TaskDashboard

STEPS = 3  # interpolation steps: the math is tested elsewhere

N = 3


def strip_worker(record):
    return {k: v for k, v in record.items() if k != "worker"}


def test_streams_table_and_figure_points(mlm):
    dash = TaskDashboard(mlm, "sva-obj", N, steps=STEPS, baselines=["attention"], random_runs=1)
    seen = []  # the instance count shown each time the table changes
    dash.table.observe(lambda change: seen.append(dash.progress.value), names="value")
    records = dash.run()
    assert len(records) == N and seen == [1, 2, 3]  # one refresh per completed instance
    assert dash.progress.value == N and dash.status.value == f"{N}/{N} instances"
    assert dash.run_button.disabled  # everything is done
    # the record is exactly what the CLI computes for that instance
    again = run_instance(mlm, dash.instances[1], 1, steps=STEPS, baselines=["attention"], random_runs=1)
    assert strip_worker(again) == strip_worker(records[1])
    # the table is Table 1's column for these records
    rows, columns = table1(records)
    assert "<td>instances</td><td style='text-align:right'>3</td>" in dash.table.value
    assert "ablated accuracy, attention (a)" in dash.table.value
    assert "conductance" not in dash.table.value
    acc = columns["sva-obj"]["ablated_gpr_attention"]
    assert f"{100 * acc:.1f}%" in dash.table.value
    # figure 5: one point per source position (all but the [MASK]) and one for the task
    sources = records[0]["sources"]
    assert len(dash.position_marks.x) == len(sources)
    assert list(dash.position_marks.names) == [records[0]["token_roles"][p] for p in sources]
    assert all(0.0 <= y <= 1.0 for y in dash.position_marks.y)
    assert list(dash.task_marks.names) == ["sva-obj"]
    mean_q = sum(r["q"]["input"] for r in records) / N
    assert dash.task_marks.x[0] == pytest.approx(mean_q)
    assert dash.task_marks.y[0] == pytest.approx(columns["sva-obj"]["entropy_attention"])


def test_background_run_and_stop(mlm):
    dash = TaskDashboard(mlm, "sva-subj", 2, steps=STEPS, baselines=[], random_runs=0)
    dash.stop()  # a stop before start does not stick
    dash.start().join(timeout=60)
    assert len(dash.records) == 2
    assert not math.isnan(table1(dash.records)[1]["sva-subj"]["original_accuracy"])
    dash.stop()
    dash.start().join(timeout=60)  # nothing left to compute
    assert len(dash.records) == 2
