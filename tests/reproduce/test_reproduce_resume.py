"""Resuming: done instances are skipped, a cut-off last line is tolerated, settings must match."""

from __future__ import annotations

import json

import pytest

from ipyinfluence.errors import InputError
from ipyinfluence.reproduce import load_results, read_jsonl, reproduce
from ipyinfluence.reproduce.jsonl_store import part_path

from _reproduce_helpers import STEPS, TASK, assert_same_records


def run(out, n, **kw):
    logs = []
    summary = reproduce(TASK, "tiny", n, out, steps=STEPS, progress=False, log=logs.append, **kw)
    return summary, logs


def test_larger_n_computes_only_the_new_instances(tmp_path, reference_run):
    _, reference = reference_run
    s1, _ = run(tmp_path, 4)
    assert s1.computed == {TASK: 4}
    before = (tmp_path / "results.jsonl").read_text().splitlines()
    s2, logs = run(tmp_path, 6)
    assert s2.computed == {TASK: 2} and s2.skipped == {TASK: 4}
    assert f"[rank 0/1] {TASK}: 2 instances to compute, 4 already done" in logs
    after = (tmp_path / "results.jsonl").read_text().splitlines()
    assert after[:4] == before  # the first four lines, timestamps included, are untouched
    assert_same_records(reference, read_jsonl(tmp_path / "results.jsonl"))
    s3, _ = run(tmp_path, 6)  # nothing left to do, nothing duplicated
    assert s3.computed == {TASK: 0}
    assert len(read_jsonl(tmp_path / "results.jsonl")) == 6


def test_interrupted_part_file_is_resumed(tmp_path, reference_run):
    _, reference = reference_run
    part = part_path(tmp_path, 0)
    part.parent.mkdir(parents=True)
    lines = [json.dumps(r) for r in reference[:3]]
    # two records written, the third cut off mid-write (no newline)
    part.write_text(lines[0] + "\n" + lines[1] + "\n" + lines[2][: len(lines[2]) // 2])
    assert [r["id"] for r in read_jsonl(part)] == [reference[0]["id"], reference[1]["id"]]
    summary, _ = run(tmp_path, 4)
    assert summary.computed == {TASK: 2}  # the cut-off instance 2, and 3
    merged = read_jsonl(tmp_path / "results.jsonl")
    assert [r["worker"] for r in merged[:2]] == [r["worker"] for r in reference[:2]]
    assert_same_records(reference[:4], merged)


def test_damaged_line_in_the_middle_is_an_error(tmp_path):
    path = tmp_path / "results.jsonl"
    record = '{"id": "%s", "task": "sva-obj", "index": %d, "text": "t"}'
    path.write_text(record % ("a", 0) + '\n{"id": \n' + record % ("c", 2) + "\n")
    with pytest.raises(ValueError, match="results.jsonl:2"):
        read_jsonl(path)


def test_other_settings_are_refused(tmp_path):
    run(tmp_path, 1)
    with pytest.raises(InputError, match="steps: 3 there, 5 now"):
        reproduce(TASK, "tiny", 1, tmp_path, steps=5, progress=False, log=lambda s: None)
    assert len(load_results(tmp_path)) == 1
