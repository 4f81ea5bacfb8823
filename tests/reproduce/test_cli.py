"""The ``ipyinfluence reproduce`` command: arguments, errors, ``--task all``."""

from __future__ import annotations

import csv

import pytest

from ipyinfluence.cli import main

from _reproduce_helpers import write_sst2_sample


def test_unknown_baseline_is_a_clear_error(tmp_path, capsys):
    code = main(["reproduce", "--task", "sva-obj", "--model", "tiny", "--n", "1", "--out", str(tmp_path),
                 "--baselines", "attention,saliency"])
    assert code == 2
    assert "unknown baseline(s) ['saliency']" in capsys.readouterr().err


def test_classifier_for_an_agreement_task_is_refused(tmp_path, capsys):
    code = main(["reproduce", "--task", "sva-obj", "--model", "tiny-classifier", "--n", "1", "--out", str(tmp_path)])
    assert code == 2
    assert "needs a masked-lm model" in capsys.readouterr().err


def test_task_all(tmp_path, capsys):
    sst2 = write_sst2_sample(tmp_path)
    code = main(["reproduce", "--task", "all", "--model", "tiny", "-n", "1", "--steps", "2", "--out", str(tmp_path / "out"),
                 "--sst2", str(sst2), "--baselines", "", "--random-runs", "1", "--no-progress"])
    assert code == 0, capsys.readouterr()
    with (tmp_path / "out" / "table1.csv").open() as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames[2:] == ["sva-obj", "sva-subj", "sva-wsc", "sva-app", "ra-number", "ra-gender", "sa"]
        rows = {r["metric"]: r for r in reader}
    assert all(float(v) == 1 for k, v in rows["n"].items() if k not in ("metric", "label"))
    assert "ablated_attention_embedding" not in rows  # --baselines '' ran none
    assert "ablated_random_embedding_mean" in rows


@pytest.mark.parametrize("args", [["--task", "nope"], ["--task", "sva-obj"]])
def test_bad_command_lines_exit(tmp_path, args):
    with pytest.raises(SystemExit):
        main(["reproduce", *args, "--model", "tiny", "--out", str(tmp_path)])
