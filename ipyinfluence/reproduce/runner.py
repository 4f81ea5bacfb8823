"""``reproduce``: compute the records of one or more tasks into an output folder, resumably,
one process or many (``torchrun``), then write Table 1 and Figure 5.

Per task, every rank reads what the folder already holds (merged file and part files),
takes its shard of the instance indices (``i % world_size == rank``), skips the indices
already done, and appends a record per computed instance to its own part file. After a
barrier, rank 0 merges the parts into ``results.jsonl`` (deduplicated by instance id) and
writes ``table1.csv``/``table1.md`` and ``figure5.png``/``.svg`` over everything the folder holds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from tqdm.auto import tqdm

from ..errors import InputError
from ..tasks import TASKS
from .checks import check_options
from .distributed import start_worker
from .figure5 import write_figure5
from .instance_record import DEFAULT_COMPARISON_METHODS, instance_id, run_instance
from .jsonl_store import PartWriter, all_records, merge
from .manifest import check_settings, write_settings
from .models import load_task_model, resolved_spec
from .table1 import write_table1
from .task_instances import task_instances


@dataclass
class RunSummary:
    rank: int
    world_size: int
    computed: dict[str, int] = field(default_factory=dict)  # per task, by this rank
    skipped: dict[str, int] = field(default_factory=dict)  # per task: already done, in this rank's shard
    outputs: list[Path] = field(default_factory=list)  # rank 0: the merged file, tables, figures
    seconds: float = 0.0


def expand_tasks(task: str | Sequence[str]) -> tuple[list[str], bool]:
    """``"all"`` -> every task (and True: tasks the model cannot serve are skipped)."""
    if task == "all":
        return list(TASKS), True
    tasks = [task] if isinstance(task, str) else list(task)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise InputError(f"unknown task(s) {unknown}; the tasks are {list(TASKS)} or 'all'.")
    return tasks, False


def check_baselines(baselines: Sequence[str]) -> None:
    from ..methods import COMPARISON_METHOD_NAMES

    allowed = [m for m in COMPARISON_METHOD_NAMES if m != "random"]
    wrong = [b for b in baselines if b not in allowed]
    if wrong:
        raise InputError(f"unknown baseline(s) {wrong}; choose among {allowed} (the random baseline runs "
                         "--random-runs seeds on its own).")


def reproduce(task: str | Sequence[str], model: str, n: int, out: str | Path, *, steps: int = 51, seed: int = 0,
              quadrature: str = "paper", device: str = "cpu", baselines: Sequence[str] = DEFAULT_COMPARISON_METHODS, random_runs: int = 3,
              sst2: str | Path | None = None, sa_model: str | None = None, progress: bool = True,
              log: Callable[[str], None] = print) -> RunSummary:
    """Compute (or resume) ``n`` instances of each task with ``model``; see module doc."""
    tasks, skip_unfit = expand_tasks(task)
    check_baselines(baselines)
    check_options(n=n, steps=steps, seed=seed, random_runs=random_runs, device=device, out=out, sst2=sst2,
                  quadrature=quadrature)
    out = Path(out)
    started = time.perf_counter()
    worker = start_worker(device)
    summary = RunSummary(rank=worker.rank, world_size=worker.world_size)
    tag = f"[rank {worker.rank}/{worker.world_size}]"
    try:
        out.mkdir(parents=True, exist_ok=True)
        models: dict[str, object] = {}
        for t in tasks:
            spec = sa_model if (t == "sa" and sa_model) else model
            key = resolved_spec(spec, t)
            try:
                if key not in models:
                    models[key] = load_task_model(spec, t, worker.device)
                m = models[key]
                instances = task_instances(t, n, m.tokenizer, seed, sst2 if t == "sa" else None)
            except InputError as e:  # with --task all: a task this model (or the data) cannot serve
                if not skip_unfit:
                    raise
                log(f"{tag} skipping {t}: {e}")
                continue
            settings = {"model": key, "steps": steps, "quadrature": quadrature, "seed": seed,
                        "baselines": list(baselines), "random_runs": random_runs}
            check_settings(out, t, settings)
            done = {r["id"]: r for r in all_records(out) if r["task"] == t}
            for i, inst in enumerate(instances):
                old = done.get(instance_id(t, i))
                if old is not None and old["text"] != inst.text:
                    raise InputError(f"{out}: instance {instance_id(t, i)} was {old['text']!r} but is now "
                                     f"{inst.text!r} (another tokenizer or data file?); use a new --out folder.")
            worker.barrier()  # every rank has checked the folder before rank 0 records settings
            if worker.rank == 0:
                write_settings(out, t, settings)
            mine = worker.shard(range(n))
            todo = [i for i in mine if instance_id(t, i) not in done]
            summary.skipped[t] = len(mine) - len(todo)
            summary.computed[t] = 0
            log(f"{tag} {t}: {len(todo)} instances to compute, {summary.skipped[t]} already done")
            with PartWriter(out, worker.rank) as writer:
                bar = tqdm(todo, desc=f"{t} {tag}", unit="inst", disable=not progress,
                           position=worker.rank if worker.world_size > 1 else None, leave=True)
                for i in bar:
                    record = run_instance(m, instances[i], i, steps=steps, quadrature=quadrature, baselines=baselines,
                                          random_runs=random_runs)
                    record["worker"]["rank"] = worker.rank
                    writer.append(record)
                    summary.computed[t] += 1
            log(f"{tag} {t}: computed {summary.computed[t]} instances")
        worker.barrier()  # every part file is complete
        if worker.rank == 0:
            records = merge(out)
            summary.outputs = [out / "results.jsonl", *write_table1(records, out), *write_figure5(records, out)]
            log(f"{tag} merged {len(records)} records; wrote " + ", ".join(p.name for p in summary.outputs))
    finally:
        worker.close()
    summary.seconds = time.perf_counter() - started
    return summary
