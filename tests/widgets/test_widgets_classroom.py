"""Issue 19, classroom second pass (the views' items): one clock per run, the export
row and what an export says it shows, the step-through's words, the default picture
(the picked word), presentation mode, the bars as a ranked list."""

from __future__ import annotations

import importlib
import re
import time

import pytest

from ipyinfluence.widgets import Explorer

MLM_TEXT = "the guards [MASK] happy ."  # as in conftest.py
STEPS = 3

explorer_run = importlib.import_module("ipyinfluence.widgets.explorer_run")


def test_the_bar_and_the_status_line_give_one_time(mlm, monkeypatch):
    """The shared pass before the first word counts in both (it was only in the status)."""
    real = explorer_run.updates

    def slow_start(model, run):
        time.sleep(0.4)  # a slow "Preparing" phase
        yield from real(model, run)

    monkeypatch.setattr(explorer_run, "updates", slow_start)
    x = Explorer(mlm, text=MLM_TEXT, steps=STEPS)
    x.run()
    status = float(re.search(r"Done: \d+ words in ([\d.]+) s", x.status).group(1))
    bar = float(re.search(r"· ([\d.]+) s · done", x.progress.label.value).group(1))
    assert status >= 0.4 and bar == status, (x.status, x.progress.label.value)


# -- item 9: the export row and what an export says it shows --------------------------------

def test_an_export_of_one_picked_word_says_what_it_shows(mlm_result):
    from ipyinfluence.widgets.export import to_html, to_svg

    one = mlm_result.words[0]
    n = len(mlm_result.words)
    page = to_html(mlm_result, words=[one.position])
    facts = re.search(r"<p class=\"facts\">(.*?)</p>", page, re.S).group(1)
    assert f"drawn: 1 of {n} computed words: {one.token} ({one.position})" in facts, facts
    assert f"drawn: all {n} computed words" in to_html(mlm_result)
    assert f"drawn: 1 of {n} computed words" in to_svg(mlm_result, words=[one.position])


def test_the_export_row_is_not_cut(mlm):
    x = Explorer(mlm, text=MLM_TEXT, steps=STEPS)
    for b in x.export_buttons.values():
        assert b.layout.width == "auto", b.layout.width  # a fixed 90 px showed "H…" and "JS…"
    assert x.export_label.value == "export:" and x.export_label.layout.width == "auto"
