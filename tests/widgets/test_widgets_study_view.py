"""StudyView driven headlessly: build a set, run, heat map = aggregates, click a cell, open a
sentence in the Explorer, ablate, export, bad input, Cancel (inline and in a thread)."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from ipyinfluence import InputError, TokenContrast
from ipyinfluence.study import ContrastBy
from ipyinfluence.widgets import Explorer, StudyView
from ipyinfluence.widgets.study_view import parse_contrast, parse_words

STEPS = 3  # as in tests/widgets/conftest.py: the math is tested elsewhere

WORDS = "subject.sing: author pilot\nsubject.plur: authors pilots\nattractor.sing: guard\nattractor.plur: guards"
TEMPLATE = "the {subject} that the {attractor} like [MASK] happy ."


@pytest.fixture(scope="module")
def view(mlm):
    v = StudyView(mlm, template=TEMPLATE, words=WORDS, n=0, steps=STEPS)
    v.run()
    return v


def test_run_fills_the_heat_map_from_the_aggregates(view):
    assert view.error == "" and view.status == "Done: 8 sentences." and view.done == view.total == 8
    assert view.progress.value == 8 and view.progress.bar_style == "success"
    assert view.role_box.value == "subject" and "attractor" in view.role_box.options
    agg = view.aggregates
    assert np.allclose(view.heatmap.color, agg.heatmap("subject"))
    assert list(view.heatmap.column) == ["skip", "h0", "h1", "h2", "h3"] and list(view.heatmap.row) == [1, 2]
    assert np.allclose(np.asarray(view.heatmap.color).sum(axis=1), 1.0)  # one route per pattern and layer
    assert "subject" in view.table.value and "Ĥ" in view.table.value
    view.role_box.value = "attractor"
    assert np.allclose(view.heatmap.color, agg.heatmap("attractor"))
    view.role_box.value = "subject"


def test_condition_selector_splits(view):
    view.split_box.value = "label:subject"
    assert set(view.condition_box.options) == {"all", "sing", "plur"}
    view.condition_box.value = "plur"
    assert np.allclose(view.heatmap.color, view.aggregates.heatmap("subject", "plur"))
    assert "4 patterns" in view.heat_figure.title
    view.split_box.value = ""
    assert view.condition_box.value == "all"


def test_clicking_a_cell_lists_the_sentences_and_opens_one(view):
    grid = np.asarray(view.heatmap.color)
    r, c = map(int, np.argwhere(grid > 0)[0])
    view.heatmap.set_state({"selected": [[r, c]]})  # as a click in the browser sends it
    route = "skip" if c == 0 else c - 1
    want = view.study.sentences_through("subject", r + 1, route)
    assert [i for _t, i in view.cell_sentences.options] == want and len(want) == round(grid[r, c] * 8)
    assert f"{len(want)} sentences" in view.cell_line.value
    view.cell_sentences.value = want[0]
    ex = view.open_selected()
    assert isinstance(ex, Explorer) and view.explorer_box.children == (ex,)
    assert ex.explanation is view.study.explanations[want[0]] and ex.text == view.study.instances[want[0]].text


def test_ablation_panel(view):
    view.ab_layer.value, view.ab_head.value, view.ab_at.value = 1, 2, "subject"
    result = view.run_ablation()
    direct = view.study.ablate(layer=1, head=2, at="subject")
    assert result.q_after == direct.q_after and result.q_control == direct.q_control
    y = np.asarray(view.ab_bars.y)
    assert y.shape == (3, 10) and (y.sum(axis=1) == 8).all()  # every sentence in each histogram
    assert "head 2 of layer 1 at the subject" in view.ab_table.value and "Ablated" in view.status


def test_exports_escape_and_need_no_network(view, tmp_path):
    csv = view.export("csv")
    assert csv.splitlines()[0] == "condition,role,layer,measure,key,value" and ",subject,1,route_share," in csv
    assert json.loads(view.export("json"))["groups"]["all"]["subject"]["count"] == 8
    svg = view.export("svg", tmp_path / "v.svg")
    assert svg.startswith("<svg") and svg.count("<rect") == 2 * 5 and (tmp_path / "v.svg").read_text() == svg
    page = view.export("html")
    assert "<svg" in page and "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    view._export_clicked("csv")
    assert "data:text/csv;base64," in view.export_line.value


def test_strings_reaching_html_are_escaped(mlm):
    v = StudyView(mlm, sentences="the <b>guards</b> [MASK] happy .\nthe pilot [MASK] sad .", contrast="is/are",
                  steps=STEPS)
    v.run()
    assert v.error == "" and v.done == 2
    roles = v.aggregates.roles
    assert any("<" in r for r in roles)  # the tokens carry the markup...
    assert "<b>" not in v.table.value and "&lt;" in v.table.value  # ...shown as text
    v.role_box.value = next(r for r in roles if "<" in r)
    assert "<b>" not in v.export("svg") and "<b>" not in v.export("html")


def test_bad_input_shows_a_message_and_keeps_the_study(mlm):
    v = StudyView(mlm, template=TEMPLATE, words=WORDS, n=2, steps=STEPS)
    v.run()
    kept = v.study
    v.words_box.value = WORDS + "\nsubject.sing: xylophonist"
    v.run()
    assert "xylophonist" in v.error and "WordPieces" in v.error and v.study is kept
    assert "<" not in v.error_line.value.replace("<span", "").replace("</span>", "")
    v.contrast_box.value = "nonsense"
    v.run()
    assert "contrast 'nonsense' is not understood" in v.error
    v.words_box.value = "subject sing author"
    v.contrast_box.value = "is/are"
    v.run()
    assert "line 1" in v.error and v.study is kept and not v.running


def test_parsers():
    assert parse_words("subject.sing: a b\nsubject.plur: c\nverb: x y") == {"subject": {"sing": ["a", "b"],
                                                                                    "plur": ["c"]},
                                                                        "verb": ["x", "y"]}
    with pytest.raises(InputError, match="both a plain list and labelled"):
        parse_words("subject: a\nsubject.sing: b")
    assert parse_contrast("is/are") == TokenContrast("is", "are")
    assert parse_contrast("subject sing=is/are plur=are/is") == ContrastBy("subject", {"sing": ("is", "are"),
                                                                                       "plur": ("are", "is")})


def test_cancel_stops_after_the_current_sentence(mlm):
    v = StudyView(mlm, template=TEMPLATE, words=WORDS, n=0, steps=STEPS, refresh_every=0)
    v.study = None
    original = v.refresh
    calls = []

    def refresh_and_cancel():
        original()
        calls.append(v.done)
        if v.done == 3:
            v.cancel()

    v.refresh = refresh_and_cancel
    v.run()
    assert v.status == "Cancelled after 3 of 8 sentences; the sentences done stay."
    assert len(v.study.explanations) == 3 and not v.running and v.progress.bar_style == "warning"
    v.refresh = original
    v.run()  # resumes: the same set, only the rest is computed
    assert v.status == "Done: 8 sentences." and len(v.study.explanations) == 8


def test_cancel_in_a_background_run(mlm):
    v = StudyView(mlm, template=TEMPLATE, words=WORDS, n=0, steps=STEPS, background=True, refresh_every=0)
    gate = threading.Event()
    original = v.refresh

    def slow_refresh():
        original()
        if v.done >= 1:
            gate.set()
            threading.Event().wait(0.2)  # a slow model, simulated

    v.refresh = slow_refresh
    thread = v.run()
    assert isinstance(thread, threading.Thread)
    assert gate.wait(60)
    v.cancel()
    v.wait(60)
    assert not thread.is_alive() and not v.running
    assert v.status.startswith("Cancelled after") and 1 <= len(v.study.explanations) < 8


def test_ablation_histogram_is_drawable_and_exported(view):
    """Issue 19.1: the bars sit on bins of an ordinal scale with a y range from 0 to the
    largest count (a linear x scale drew them 1 px wide and 0 px tall), and the HTML export
    draws the same histogram."""
    from bqplot import OrdinalScale

    from ipyinfluence.widgets.study_export import ablation_histogram

    result = view.run_ablation() if view.ablation is None else view.ablation
    labels, counts = ablation_histogram(result)
    assert isinstance(view.ab_bars.scales["x"], OrdinalScale)
    assert list(view.ab_bars.x) == labels and len(set(labels)) == 10  # one distinct label per bin
    assert np.array_equal(np.asarray(view.ab_bars.y), np.array(counts))
    assert [sum(row) for row in counts] == [8, 8, 8]
    assert counts[0] == np.histogram(result.q_before, bins=10)[0].tolist()
    y = view.ab_bars.scales["y"]
    assert y.min == 0 and y.max == max(max(row) for row in counts)
    page = view.export("html")
    svg = page[page.index("<svg xmlns=\"http://www.w3.org/2000/svg\" width", page.index("ipyinfluence-ablation-table")):]
    import re

    heights = [float(h) for h in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="\d+" height="([\d.]+)"', svg)]
    most = max(max(row) for row in counts)
    assert heights == pytest.approx([160 * row[b] / most for b in range(10) for row in counts], abs=0.06)


def test_changing_split_by_empties_the_sentence_list(view):
    """Issue 19.7: after a cell click the list held that cell's sentences; a new split-by
    (or condition) must not leave them under a heat map of other sentences."""
    view.split_box.value = ""
    grid = np.asarray(view.heatmap.color)
    r, c = map(int, np.argwhere(grid > 0)[0])
    view.heatmap.set_state({"selected": [[r, c]]})
    assert view.cell_sentences.options and not view.open_button.disabled
    view.split_box.value = "label:subject"
    assert view.cell_sentences.options == () and view.open_button.disabled
    view.condition_box.value = "plur"
    grid = np.asarray(view.heatmap.color)
    r, c = map(int, np.argwhere(grid > 0)[0])
    view.heatmap.set_state({"selected": [[r, c]]})
    listed = [i for _t, i in view.cell_sentences.options]
    assert listed and all(view.study.instances[i].labels["subject"] == "plur" for i in listed)
    view.condition_box.value = "sing"
    assert view.cell_sentences.options == () and view.open_button.disabled
    view.split_box.value = ""


def test_split_by_a_condition_spelled_all_returns_and_keeps_it_apart(mlm):
    """Issue 16.1 (the widget): a slot word "all" made the split-by hang (the aggregate
    appended to the every-sentence list it iterated); it is now a condition of its own."""
    v = StudyView(mlm, template="{det} the guards like [MASK] happy .", words="det: all some", n=0, steps=STEPS,
                  contrast="is/are")
    v.run()
    assert v.error == "" and v.done == 2
    finished = threading.Event()

    def split():
        v.split_box.value = "slot:det"
        finished.set()

    threading.Thread(target=split, daemon=True).start()
    assert finished.wait(30), "the split-by did not return"
    assert v.error == ""
    assert set(v.condition_box.options) == {"all", '"all"', "some"}
    v.condition_box.value = '"all"'
    assert v.aggregates.get(v.role_box.value, '"all"').count == 1
    grid = np.asarray(v.heatmap.color)
    r, c = map(int, np.argwhere(grid > 0)[0])
    v.heatmap.set_state({"selected": [[r, c]]})
    assert [v.study.instances[i].slots["det"] for _t, i in v.cell_sentences.options] == ["all"]
    assert "split by slot:det" in v.export("html")
