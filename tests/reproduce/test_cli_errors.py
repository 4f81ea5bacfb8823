"""Issue 9.6/9.7: a refused ``reproduce`` command prints one line, exits with status 2, and
leaves its folder untouched, so that the corrected command runs."""

from __future__ import annotations

import json
import os

import pytest
import torch

from ipyinfluence.cli import main

BASE = ["reproduce", "--task", "sva-obj", "--model", "tiny", "-n", "1", "--baselines", "", "--random-runs", "0",
        "--no-progress"]


def run(capsys, *args) -> tuple[int, str]:
    code = main([*BASE, *args])
    err = capsys.readouterr().err.strip()
    return code, err


def assert_one_line(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("ipyinfluence reproduce: "), err
    for needle in needles:
        assert needle in err, err


def test_bad_steps_write_nothing_and_the_corrected_command_runs(tmp_path, capsys):
    out = tmp_path / "run"
    assert_one_line(*run(capsys, "--out", str(out), "--steps", "1"), "--steps", "at least 2")
    assert not out.exists()
    code, err = run(capsys, "--out", str(out), "--steps", "2")
    assert code == 0, err
    assert json.loads((out / "run.json").read_text())["tasks"]["sva-obj"]["steps"] == 2


@pytest.mark.parametrize("args, needle", [(["-n", "0"], "n (instances per task)"), (["--seed", "-1"], "--seed"),
                                          (["--random-runs", "-2"], "random_runs"), (["--device", "tpu:x"], "--device"),
                                          (["--sst2", "/nonexistent/dev.tsv"], "--sst2")])
def test_bad_options_write_nothing(tmp_path, capsys, args, needle):
    out = tmp_path / "run"
    assert_one_line(*run(capsys, "--out", str(out), *args), needle)
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda(tmp_path, capsys):
    assert_one_line(*run(capsys, "--out", str(tmp_path / "run"), "--device", "cuda"), "CUDA is not available")
    assert not (tmp_path / "run").exists()


def test_out_is_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert_one_line(*run(capsys, "--out", str(f)), "is a file")
    assert_one_line(*run(capsys, "--out", str(f / "below")), "is a file")


def test_out_cannot_be_created(tmp_path, capsys):
    # /proc refuses new folders even to root (os.access says yes there, mkdir fails)
    assert_one_line(*run(capsys, "--out", "/proc/ipyinfluence-test-out"), "/proc")
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert_one_line(*run(capsys, "--out", str(locked / "run")), "not writable")


@pytest.mark.parametrize("content, needle", [("{not json", "damaged"), ("[]", "not a run manifest"),
                                             ('{"tasks": 3}', "not a run manifest")])
def test_corrupt_run_json(tmp_path, capsys, content, needle):
    out = tmp_path / "run"
    out.mkdir()
    (out / "run.json").write_text(content)
    assert_one_line(*run(capsys, "--out", str(out), "--steps", "2"), "run.json", needle)
    assert (out / "run.json").read_text() == content


@pytest.mark.parametrize("line", ["{}", '{"id": "x"}', "[1, 2]", "{damaged"])
def test_damaged_results_line(tmp_path, capsys, line):
    out = tmp_path / "run"
    out.mkdir()
    good = '{"id": "sva-obj-5", "task": "sva-obj", "index": 5, "text": "t"}'
    (out / "results.jsonl").write_text(f"{good}\n{line}\n{good}\n")
    assert_one_line(*run(capsys, "--out", str(out), "--steps", "2"), "results.jsonl:2")
