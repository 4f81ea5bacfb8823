"""Batch reproduction of the paper's Table 1 and Figure 5 (``ipyinfluence reproduce``).

* :func:`run_instance` — one instance explained (GPR and baselines, both levels), ablated
  and measured, as a JSON-ready record; shared by the CLI and :class:`TaskDashboard`;
* :func:`reproduce` — many instances, resumable, data-parallel under ``torchrun``;
* :func:`table1`, :func:`write_table1`, :func:`figure5_points`, :func:`write_figure5` —
  aggregation of records into the paper's table and figure.
"""

from .figure5 import figure5_points, write_figure5
from .instance_record import DEFAULT_COMPARISON_METHODS, record_words, run_instance
from .jsonl_store import load_results, merge, read_jsonl
from .models import load_task_model
from .runner import RunSummary, reproduce
from .table1 import table1, task_column, to_markdown, write_table1
from .task_instances import task_instances, task_qoi

__all__ = ["run_instance", "record_words", "DEFAULT_COMPARISON_METHODS", "reproduce", "RunSummary", "table1", "task_column",
           "to_markdown", "write_table1", "figure5_points", "write_figure5", "load_results", "merge", "read_jsonl",
           "load_task_model", "task_instances", "task_qoi"]
