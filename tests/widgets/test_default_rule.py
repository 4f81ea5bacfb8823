"""One default integration rule: Gauss–Legendre with 32 nodes in the API, studies and widgets;
the paper's rule (linspace 51, plain mean) stays the default of ``reproduce`` only.

Lives beside the widget tests because it compares the Explorer with ``explain``."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from ipyinfluence import TokenContrast, explain, explain_many, iter_explain
from ipyinfluence.progressive import iter_progressive
from ipyinfluence.study import Study
from ipyinfluence.widgets import Explorer, StudyView

TEXT = "the guards [MASK] happy ."
QOI = TokenContrast("is", "are")


def _g(e) -> np.ndarray:
    return np.array([w.total_influence for w in sorted(e.words, key=lambda w: w.position)])


@pytest.fixture(scope="module")
def direct(mlm):
    return explain(mlm, TEXT, QOI)


def test_explain_and_the_explorer_give_the_same_influences_with_defaults(mlm, direct):
    """They were 2% apart on MiniLM when explain() integrated paper/51 and the Explorer GL/32."""
    shown = Explorer(mlm, text=TEXT, qoi=QOI, background=False).run()
    assert (direct.steps, direct.quadrature) == (shown.steps, shown.quadrature) == (32, "gauss-legendre")
    g, h = _g(direct), _g(shown)
    # chunking differs (the Explorer runs one word per chunk), so only float32 round-off may
    np.testing.assert_allclose(h, g, rtol=1e-5, atol=1e-6 * np.abs(g).max())
    assert [w.attention.routes for w in shown.words] == [w.attention.routes for w in direct.words]


def test_every_api_entry_point_defaults_to_gauss_legendre_32(mlm, direct):
    stream = iter_explain(mlm, TEXT, QOI)
    assert (stream.explanation.steps, stream.explanation.quadrature) == (32, "gauss-legendre")
    [(_, many)] = list(explain_many(mlm, [TEXT], QOI))
    assert (many.steps, many.quadrature) == (32, "gauss-legendre")
    np.testing.assert_allclose(_g(many), _g(direct), rtol=1e-5, atol=1e-6 * np.abs(_g(direct)).max())
    finals = [u for u in iter_progressive(mlm, TEXT, QOI, preview_steps=2) if u.stage == "final"]
    assert (finals[-1].explanation.steps, finals[-1].explanation.quadrature) == (32, "gauss-legendre")
    # a number of steps alone keeps the default rule (it no longer switches to the paper's)
    assert explain(mlm, TEXT, QOI, steps=4, level="embedding").quadrature == "gauss-legendre"


def test_studies_and_their_view_default_to_gauss_legendre_32(mlm):
    study = Study(mlm, [TEXT], QOI)
    assert study.options["steps"] == 32 and study.options["quadrature"] == "gauss-legendre"
    view = StudyView(mlm)
    assert view.steps_box.value == 32


def test_a_study_file_without_its_rule_is_refused_not_mixed(mlm, tmp_path):
    """A file written before the default changed holds paper-rule results under the same
    steps; resuming it with Gauss–Legendre would mix two rules in one study."""
    import json

    from ipyinfluence import InputError

    path = tmp_path / "s.jsonl"
    Study(mlm, [TEXT], QOI, path=str(path), steps=3).run()
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["options"]["quadrature"] == "gauss-legendre"
    del header["options"]["quadrature"]
    path.write_text("\n".join([json.dumps(header)] + lines[1:]) + "\n")
    with pytest.raises(InputError, match="explain options"):
        Study(mlm, [TEXT], QOI, path=str(path), steps=3)


def test_reproduce_keeps_the_papers_rule(monkeypatch):
    import argparse

    from ipyinfluence.cli import main
    from ipyinfluence.reproduce import reproduce, run_instance
    from ipyinfluence.widgets import TaskDashboard

    for f in (reproduce, run_instance):
        params = inspect.signature(f).parameters
        assert params["steps"].default == 51 and params["quadrature"].default == "paper", f.__name__
    assert inspect.signature(TaskDashboard).parameters["steps"].default == 51  # it runs run_instance

    seen, parse = {}, argparse.ArgumentParser.parse_args

    def read_defaults(self, argv=None, namespace=None):  # the CLI's parsed options, then stop before any work
        ns = parse(self, argv, namespace)
        seen.update(steps=ns.steps, quadrature=ns.quadrature)
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", read_defaults)
    with pytest.raises(SystemExit):
        main(["reproduce", "--task", "sva-obj", "--model", "tiny", "--n", "1", "--out", "unused"])
    assert seen == {"steps": 51, "quadrature": "paper"}
