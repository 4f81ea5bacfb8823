"""``TaskDashboard``: run one of the paper's tasks and watch its Table 1 column and Figure 5
points fill in as instances complete.

Each instance goes through :func:`ipyinfluence.reproduce.run_instance`, the function the
``ipyinfluence reproduce`` command uses, so the numbers are the CLI's. After each instance
the table (an HTML table, one row per measurement) and two bqplot scatter plots are
recomputed from every record so far: (a) pattern entropy against mean ``|g_i|`` per
template position, (b) entropy of ``Π_+`` against mean ``q(x)`` for the task.

``run()`` computes in the calling thread (widget updates still stream to the front end);
``start()`` runs in a background thread and ``stop()`` ends it after the current instance.
"""

from __future__ import annotations

import math
import threading
from typing import Any, Sequence

import ipywidgets as widgets
from bqplot import Axis, Figure, LinearScale, Scatter

from ..model import InfluenceModel
from ..reproduce import DEFAULT_COMPARISON_METHODS, figure5_points, load_task_model, run_instance, table1, task_instances
from ..reproduce.figure5 import PLOTTED_LEVEL
from ..reproduce.table1 import format_cell
from .escape import esc


def table_html(rows, columns) -> str:
    """Table 1 (rows = measurements, columns = tasks) as an HTML table."""
    tasks = list(columns)
    head = "".join(f"<th>{esc(t)}</th>" for t in tasks)
    body = "".join(
        f"<tr><td>{esc(label)}</td>"
        + "".join(f"<td style='text-align:right'>{esc(format_cell(key, columns[t].get(key)))}</td>" for t in tasks)
        + "</tr>"
        for key, label in rows
    )
    return (f"<table class='ipyinfluence-table1'><thead><tr><th>measurement</th>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


def _scatter_figure(x_label: str, y_label: str, title: str) -> tuple[Figure, Scatter]:
    sx, sy = LinearScale(), LinearScale()
    mark = Scatter(x=[], y=[], scales={"x": sx, "y": sy}, names=[], display_names=True, default_size=48,
                   tooltip=None)
    fig = Figure(marks=[mark], axes=[Axis(scale=sx, label=x_label), Axis(scale=sy, side="left",
                                                                           label=y_label)],
                 title=title, layout=widgets.Layout(width="420px", height="320px"))
    return fig, mark


class TaskDashboard(widgets.VBox):
    """``TaskDashboard(model, task, n)``: run ``n`` instances of ``task`` and stream Table 1 / Figure 5.

    ``model``: an :class:`InfluenceModel`, or what ``--model`` takes (hub id, folder, ``tiny``).
    Keyword options are :func:`run_instance`'s (``steps``, ``baselines``, ``random_runs``) and
    :func:`task_instances`'s (``seed``, ``sst2``). ``records`` holds the computed records.
    """

    def __init__(self, model: InfluenceModel | str, task: str, n: int, *, steps: int = 51, seed: int = 0,
                 baselines: Sequence[str] = DEFAULT_COMPARISON_METHODS, random_runs: int = 3, sst2=None, device: str = "cpu",
                 **kwargs):
        self.model = model if isinstance(model, InfluenceModel) else load_task_model(model, task, device)
        self.task, self.n, self.steps = task, n, steps
        self.baselines, self.random_runs = list(baselines), random_runs
        self.instances = task_instances(task, n, self.model.tokenizer, seed, sst2)
        self.records: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

        self.title = widgets.HTML(f"<b>{esc(task)}</b> on {esc(self.model.name)}: "
                                  f"{n} instances, {steps} steps")
        self.progress = widgets.IntProgress(value=0, min=0, max=max(1, n), layout=widgets.Layout(width="260px"))
        self.status = widgets.Label(f"0/{n} instances")
        self.run_button = widgets.Button(description="Run", icon="play", button_style="primary")
        self.run_button.on_click(lambda _: self.start())
        self.table = widgets.HTML(table_html(*table1([])))
        level = "G_a" if PLOTTED_LEVEL == "attention" else "G_e"
        self.position_figure, self.position_marks = _scatter_figure(
            "mean |g_i|", f"entropy ({level})", "(a) per template position")
        self.task_figure, self.task_marks = _scatter_figure("mean q(x)", "entropy Π_+", "(b) per task")
        super().__init__([self.title, widgets.HBox([self.run_button, self.progress, self.status]), self.table,
                          widgets.HBox([self.position_figure, self.task_figure])], **kwargs)
        self.add_class("ipyinfluence-task-dashboard")

    # -- running -----------------------------------------------------------
    def run(self) -> list[dict[str, Any]]:
        """Compute the instances not yet done, refreshing the view after each; returns the records."""
        self._stop.clear()
        self.run_button.disabled = True
        try:
            for index in range(len(self.records), self.n):
                if self._stop.is_set():
                    break
                record = run_instance(self.model, self.instances[index], index, steps=self.steps,
                                      baselines=self.baselines, random_runs=self.random_runs)
                self.records.append(record)
                self.refresh()
        finally:
            self.run_button.disabled = len(self.records) >= self.n
        return self.records

    def start(self) -> threading.Thread:
        """``run()`` in a background thread (one at a time)."""
        if self._thread is not None and self._thread.is_alive():
            return self._thread
        self._thread = threading.Thread(target=self.run, name="ipyinfluence-task-dashboard", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Stop after the instance being computed."""
        self._stop.set()

    # -- view --------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw the table, the progress and both plots from ``records``."""
        done = len(self.records)
        self.progress.value = done
        self.status.value = f"{done}/{self.n} instances"
        self.table.value = table_html(*table1(self.records))
        positions, tasks = figure5_points(self.records)
        key = f"entropy_{PLOTTED_LEVEL}"
        finite = [p for p in positions if not math.isnan(p[key])]
        with self.position_marks.hold_sync():
            self.position_marks.x = [p["mean_abs_influence"] for p in finite]
            self.position_marks.y = [p[key] for p in finite]
            self.position_marks.names = [p["role"] for p in finite]
        finite = [p for p in tasks if not math.isnan(p[key])]
        with self.task_marks.hold_sync():
            self.task_marks.x = [p["mean_q"] for p in finite]
            self.task_marks.y = [p[key] for p in finite]
            self.task_marks.names = [p["task"] for p in finite]
