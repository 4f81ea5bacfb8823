"""``reproduce --quadrature``: the paper's rule stays the default (Table 1 is the paper's);
Gauss–Legendre is recorded in the run and in every record, and a bad rule is one line."""

from __future__ import annotations

import json

from ipyinfluence.cli import main

BASE = ["reproduce", "--task", "sva-obj", "--model", "tiny", "-n", "1", "--baselines", "", "--random-runs", "0",
        "--no-progress"]


def test_gauss_legendre_is_recorded(tmp_path, capsys):
    out = tmp_path / "gl"
    assert main([*BASE, "--out", str(out), "--steps", "4", "--quadrature", "gauss-legendre"]) == 0, capsys.readouterr()
    settings = json.loads((out / "run.json").read_text())["tasks"]["sva-obj"]
    assert settings["quadrature"] == "gauss-legendre" and settings["steps"] == 4
    record = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    assert record["quadrature"] == "gauss-legendre" and record["steps"] == 4
    # resuming with the other rule is refused: the records would mix two integrations
    assert main([*BASE, "--out", str(out), "--steps", "4"]) == 2


def test_the_default_is_the_papers_rule(tmp_path, capsys):
    out = tmp_path / "paper"
    assert main([*BASE, "--out", str(out), "--steps", "3"]) == 0, capsys.readouterr()
    settings = json.loads((out / "run.json").read_text())["tasks"]["sva-obj"]
    assert settings["quadrature"] == "paper"
    assert json.loads((out / "results.jsonl").read_text().splitlines()[0])["quadrature"] == "paper"


def test_a_folder_from_before_the_option_resumes_as_the_papers_rule(tmp_path, capsys):
    out = tmp_path / "old"
    assert main([*BASE, "--out", str(out), "--steps", "3"]) == 0, capsys.readouterr()
    manifest = json.loads((out / "run.json").read_text())
    del manifest["tasks"]["sva-obj"]["quadrature"]  # as written before the option existed
    (out / "run.json").write_text(json.dumps(manifest))
    assert main([*BASE, "--out", str(out), "--steps", "3"]) == 0, capsys.readouterr()
    assert main([*BASE, "--out", str(out), "--steps", "3", "--quadrature", "gauss-legendre"]) == 2


def test_a_bad_rule_is_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "bad"
    assert main([*BASE, "--out", str(out), "--quadrature", "simpson"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--quadrature" in err and "Traceback" not in err
    assert not out.exists()
