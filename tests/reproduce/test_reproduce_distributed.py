"""Two CPU processes on gloo (``torchrun``) resuming a one-process run: each rank computes the
missing instances of its shard, rank 0 merges once, and the merged results equal a run of
one process from scratch (same ids, patterns and numbers)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from ipyinfluence.reproduce import load_results, read_jsonl, reproduce

from _reproduce_helpers import N, STEPS, TASK, assert_same_records

REPO = Path(__file__).resolve().parents[2]


def torchrun(out: Path, n: int) -> subprocess.CompletedProcess:
    logs = out.with_name(out.name + "-torchrun-logs")  # else torchrun leaves a torchelastic_* folder in /tmp
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "--log-dir", str(logs), "-m", "ipyinfluence.cli", "reproduce", "--task", TASK, "--model", "tiny", "-n", str(n),
           "--steps", str(STEPS), "--out", str(out), "--no-progress"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_two_ranks_resume_and_merge_to_the_single_process_result(tmp_path, reference_run):
    _, reference = reference_run
    reproduce(TASK, "tiny", 2, tmp_path, steps=STEPS, progress=False, log=lambda s: None)
    first = {r["id"]: r for r in load_results(tmp_path)}
    log = torchrun(tmp_path, N).stdout
    # instance i goes to rank i % 2; 0 and 1 are done, so each rank computes two of 2..5
    assert f"[rank 0/2] {TASK}: 2 instances to compute, 1 already done" in log
    assert f"[rank 1/2] {TASK}: 2 instances to compute, 1 already done" in log
    assert log.count("merged") == 1 and f"[rank 0/2] merged {N} records" in log
    merged = read_jsonl(tmp_path / "results.jsonl")
    assert not (tmp_path / "parts").exists()  # folded into results.jsonl
    for r in merged[:2]:  # the very records of the first run, not recomputed ones
        assert r["worker"] == first[r["id"]]["worker"]
    assert [r["worker"]["rank"] for r in merged[2:]] == [0, 1, 0, 1]
    assert_same_records(reference, merged)
    with (tmp_path / "table1.csv").open() as f:
        rows = {r["metric"]: r for r in csv.DictReader(f)}
    assert float(rows["n"][TASK]) == N
