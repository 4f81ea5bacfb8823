"""Issue 19, classroom second pass (the views' items): one clock per run, the export
row and what an export says it shows, the step-through's words, the default picture
(the picked word), presentation mode, the bars as a ranked list."""

from __future__ import annotations

import importlib
import re
import time

import numpy as np
import pytest

from ipyinfluence.widgets import Explorer

MLM_TEXT = "the guards [MASK] happy ."  # as in conftest.py
STEPS = 3

explorer_run = importlib.import_module("ipyinfluence.widgets.explorer_run")


def test_the_bar_and_the_status_line_give_one_time(mlm, monkeypatch):
    """The shared pass before the first word counts in both (it was only in the status)."""
    real = explorer_run.updates

    def slow_start(model, run, **kwargs):
        time.sleep(0.4)  # a slow "Preparing" phase
        yield from real(model, run, **kwargs)

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


# -- item 10: no figure drawn at zero size --------------------------------------------------

def test_the_collapsed_step_through_joins_the_page_when_opened(mlm):
    """Built inside a collapsed accordion its figure was laid out at zero size (a console
    error on every display); now it is not on the page until the accordion opens."""
    x = Explorer(mlm, text=MLM_TEXT, steps=STEPS)
    assert x.step_through not in x.step_through_box.children
    x.step_through_box.selected_index = 0
    assert x.step_through_box.children == (x.step_through,) and x.step_through.graph_shown


# -- item 6: the step-through ----------------------------------------------------------------

def _stage(top_k: int):
    from ipyinfluence.widgets.step_through import Candidate, Stage

    cands = [Candidate(p, None, s) for p, s in enumerate([0.5, 0.3, 0.2, -0.1, 0.05])]
    return Stage("embedding", 1, cands, sorted(cands, key=lambda c: -c.score)[:top_k], 1)


def test_the_rule_names_every_kept_candidate():
    from ipyinfluence.widgets.step_through import rule_text

    tokens = ["a", "b", "c", "d", "e"]
    text = rule_text(_stage(3), tokens)
    for token, score in (("a", "+0.5"), ("b", "+0.3"), ("c", "+0.2")):
        assert f"[{'abc'.index(token)}] {token} with σ·score = (+1)·({score})" in text, text
    assert "the best of the rest, h¹[4] e" in text  # the runner-up: the best of those not kept


def test_one_candidate_is_singular(mlm_result):
    from ipyinfluence.widgets import StepThrough

    st = StepThrough(mlm_result)
    assert st.step == 0 and "<b>1 candidate</b>" in st.candidates.value  # layer 0: the word itself
    st.next()
    assert re.search(r"<b>\d+ candidates</b>", st.candidates.value)


def test_dashed_means_skip_in_the_step_through_too(mlm_result):
    """The embedding-level pattern being refined is drawn light and solid (it was dashed,
    which means "skip" in the pattern graph); skip routes are dashed; heads are labelled;
    a legend says so."""
    from ipyinfluence.results import SKIP
    from ipyinfluence.widgets import StepThrough

    st = StepThrough(mlm_result)
    assert st.context_lines.line_style == "solid" and st.skip_lines.line_style == "dashed"
    # a word whose attention pattern has both a skip and a head route
    word = next(w for w in mlm_result.words
                if {c.route == SKIP for s in w.attention.steps for c in s.chosen} == {True, False})
    st.show_word(word.position)
    st.step = len(st.stage_list) - 1  # the last attention stage: the whole refined pattern
    skips = sum(c.route == SKIP for s in word.attention.steps for c in s.chosen)
    xs = np.asarray(st.skip_lines.x, dtype=float).reshape(-1, 2)  # bqplot squeezes one row to (2,)
    assert list(st.skip_lines.opacities) == [1.0] and len(xs) == skips and all(a == b for a, b in xs)
    assert any(t.startswith("H") for t in st.head_text.text), list(st.head_text.text)
    assert "dashed = skip" in st.legend.value and "being refined" in st.legend.value


# -- item 8: the bars as a readable ranked list ----------------------------------------------

def test_the_explorers_bars_are_a_ranked_list_with_whole_labels(mlm):
    from ipyinfluence import TokenContrast
    from ipyinfluence.widgets.influence_bars import RANKED_HALF_PX, RANKED_SHOWN

    text = "the extraordinarily studious students near the guards [MASK] happy ."
    x = Explorer(mlm, text=text, qoi=TokenContrast("is", "are"), steps=STEPS)
    result = x.run()
    html = x.bars.table.value
    order = [int(p) for p in re.findall(r"<tr class='word' data-position='(\d+)'", html)]
    assert order == [w.position for w in sorted(result.words, key=lambda w: (-abs(w.total_influence), w.position))]
    assert len(order) == len(result.words) and len(result.words) > RANKED_SHOWN  # the rest behind "… n more"
    assert "more words</summary>" in html
    for w in result.words:  # every token written whole (the chart cut "27:studen")
        assert f"<td class='token'>{w.token} <small>({w.position})</small></td>" in html
    # every bar starts at the one zero line in the middle of its cell, and no bar holds text
    assert html.count("class='zero'") == 3 * len(result.words)
    assert html.count(f"left:{RANKED_HALF_PX - 0.5}px") == 3 * len(result.words)
    # the picked word (drawn in the graph) is marked in the list
    picked = x.graph.selected
    assert picked and re.search(rf"data-position='{picked[0]}' style='background:#fff3c4", html)


# -- items 2 and 3: the picked word on a graph fitted to the page -----------------------------

FORTY = ("the author that the guards like said the pilots near the dancers smile at the officers who the farmers "
         "love , but the old teacher knows his surgeons swim with the boy who smiles [MASK] very happy .")


@pytest.fixture(scope="module")
def forty(mlm):
    from ipyinfluence import TokenContrast

    x = Explorer(mlm, text=FORTY, qoi=TokenContrast("is", "are"), steps=STEPS, top_k=3)
    width = x.graph.figure.layout.min_width
    x.run()
    assert x.error == "" and x.status.startswith("Done: "), (x.status, x.error, x.last_traceback)
    return x, width


def test_the_picked_word_is_drawn_by_default(forty):
    x, _ = forty
    best = max(x.explanation.words, key=lambda w: abs(w.total_influence)).position
    assert x.graph.selected == [best] and x.sentence.selected == best and not x.show_all
    assert x.step_through.position == best  # the step-through follows the pick
    assert [d.position for d in x.graph.layout_data.words] == [best]
    assert "Drawn: 1 of 39 computed words" in x.graph.legend.value
    # "show all" is an explicit choice, and picking a word leaves it
    x.chips.all_button.click()
    assert x.show_all and x.graph.selected is None and len(x.graph.layout_data.words) == 39
    other = next(w.position for w in x.explanation.words if w.position != best)
    x.sentence.click(other)
    assert not x.show_all and x.graph.selected == [other]
    x.run()  # a person's pick survives the next run
    assert x.graph.selected == [other] and x.status.startswith("Done: ")
    x.show_all = True
    assert x.graph.selected is None
    x.show_all = False  # back to the picked word
    assert x.graph.selected == [best] and len(x.graph.layout_data.words) == 1


def test_the_graph_fits_the_page_and_never_resizes(forty):
    """The figure's width is fixed from construction (its first drawing was squeezed into
    the old width until a resize, issue 19.3); token texts that would touch give way, but
    never the drawn word's, the QoI's or the pattern's columns."""
    from ipyinfluence.widgets.geometry import TOKEN_GAP_PX
    from ipyinfluence.widgets.pattern_graph import FIT_PX
    from ipyinfluence.widgets.style import text_width

    x, before = forty
    assert before == x.graph.figure.layout.min_width == f"{FIT_PX}px" and x.graph.figure.layout.width == "100%"
    rows = x.graph.token_layout
    expl = x.explanation
    assert rows.col_px * len(expl.tokens) <= FIT_PX
    for line in (0, 1):
        shown = [(p, t) for p, (t, r) in enumerate(zip(rows.texts, rows.rows)) if t and r == line]
        for (p, a), (q, b) in zip(shown, shown[1:]):
            assert (q - p) * rows.col_px >= (text_width(a) + text_width(b)) / 2 + TOKEN_GAP_PX - 1e-9, (a, b)
    picked = x.graph.selected[0]
    assert rows.texts[expl.readout_position] == "[MASK]" and rows.texts[picked] == expl.tokens[picked]
    node_columns = {n.position for n in x.graph.layout_data.nodes() if n.position is not None}
    assert all(rows.texts[p] for p in node_columns)


def test_presentation_draws_larger_type(mlm):
    x = Explorer(mlm, text=MLM_TEXT, steps=STEPS, presentation=True)
    plain = Explorer(mlm, text=MLM_TEXT, steps=STEPS)
    assert x.graph.token_labels.default_size > plain.graph.token_labels.default_size
    assert x.graph.head_labels.default_size > plain.graph.head_labels.default_size
    assert "ipyinfluence-presentation" in x._dom_classes
    css = [c.value for c in x.children if isinstance(c, type(x.status_line)) and "<style>" in c.value]
    assert css and "font-size:18px" in css[0] and not any("<style>" in getattr(c, "value", "") for c in plain.children
                                                            if isinstance(c, type(x.status_line)))
    x.run()
    assert "font-size:15px" in x.bars.table.value


def test_a_fitted_first_line_keeps_clear_of_the_row_names():
    """On a deep model's short rows the first line of token texts is level with the row
    name "x": "[CLS]" under column 0 ran into it (seen on MiniLM at 1280×720)."""
    from ipyinfluence.widgets.geometry import fitted_token_rows

    rows = fitted_token_rows(["[CLS]", "the", "author"], 19.0, left_px=-19.0 / 2 - 2)
    assert rows.texts[0] == "[CLS]" and rows.rows[0] == 1


def test_the_step_through_follows_the_pick_made_at_the_runs_end(mlm, monkeypatch):
    """Drawn once mid-run (the first word picked), then at the end the largest |g_i|: the
    step-through moves to it too (its dropdown had not met that word yet: the run ended in
    "Error after 10 of 10 words" in the quickstart)."""
    from ipyinfluence import TokenContrast
    from ipyinfluence.widgets.views import RedrawClock

    monkeypatch.setattr(explorer_run, "RedrawClock",
                        lambda: RedrawClock(interval=float("inf"), max_wait=float("inf"), first_wait=0))
    x = Explorer(mlm, text=FORTY, qoi=TokenContrast("is", "are"), steps=STEPS)
    result = x.run()
    best = max(result.words, key=lambda w: abs(w.total_influence)).position
    assert best != result.words[0].position  # the pick moved at the end
    assert x.error == "" and x.status.startswith("Done: "), (x.status, x.error)
    assert x.graph.selected == [best] and x.step_through.position == best
