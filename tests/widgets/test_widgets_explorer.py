"""Explorer, headless: controls, streaming, cancel, bad input, errors, exports."""

from __future__ import annotations

import base64
import importlib
import re
import threading
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from ipyinfluence import ClassContrast, EmbeddingSimilarity, TokenContrast
from ipyinfluence.widgets import Explorer
from ipyinfluence.widgets.views import RedrawClock

from word_gate import FirstWordGate

MLM_TEXT = "the guards [MASK] happy ."  # as in conftest.py
STEPS = 3

explorer_module = importlib.import_module("ipyinfluence.widgets.explorer")
run_loop = importlib.import_module("ipyinfluence.widgets.run_loop")
explorer_run = importlib.import_module("ipyinfluence.widgets.explorer_run")
METHODS = importlib.import_module("ipyinfluence.explain").METHODS


@pytest.fixture
def explorer(mlm):
    return Explorer(mlm, text=MLM_TEXT, steps=STEPS, show_all=True)  # these tests read every word (issue 19.2: the default draws the picked one)


def _sources(x: Explorer) -> int:
    return len(x.model.encode(x.text).tokens) - 1  # every position but the [MASK]


def test_defaults_per_task(mlm, classifier, encoder):
    x = Explorer(mlm)
    assert x.text == "the author that the guards like [MASK] happy ."
    assert x.qoi_editor.qoi() == TokenContrast("is", "are")
    c = Explorer(classifier)
    assert c.text == "the movie was not good ." and c.qoi_editor.qoi() == ClassContrast("positive", "negative")
    e = Explorer(encoder)
    assert e.text == "the movie was not good ."
    assert isinstance(e.qoi_editor.qoi(), EmbeddingSimilarity) and e.qoi_editor.qoi().reference == "a great film"
    # the default rule is benchmarks/quadrature.py's choice (issue 11): Gauss–Legendre, 32 nodes
    assert x.steps == 32 and x.quadrature == "gauss-legendre" and x.steps_box.value == 32
    assert x.level == "attention" and x.top_k == 1 and x.baseline == "mask"
    assert tuple(x.method_box.options) == importlib.import_module("ipyinfluence.explain").METHODS
    assert "ipyinfluence-explorer" in x._dom_classes
    assert "ipyinfluence-run" in x.run_button._dom_classes and "ipyinfluence-cancel" in x.cancel_button._dom_classes
    assert "ipyinfluence-graph" in x.graph._dom_classes and x.cancel_button.disabled


def test_methods_are_read_at_construction(mlm, monkeypatch):
    engine = importlib.import_module("ipyinfluence.explain")
    monkeypatch.setattr(engine, "METHODS", engine.METHODS + ("brand-new",))
    assert "brand-new" in Explorer(mlm).method_box.options


def test_run_streams_word_by_word(explorer, monkeypatch):
    seen = []
    explorer.on_word(lambda w: seen.append((w.position, len(explorer.explanation.words), explorer.words_done)))
    done = []
    explorer.on_done(done.append)
    redraws = []  # how many words the graph held at each push to the browser
    draw = explorer.graph.redraw
    monkeypatch.setattr(explorer.graph, "redraw", lambda: (redraws.append(len(explorer.graph.explanation.words)
                                                                          if explorer.graph.explanation else 0),
                                                           draw()))
    # A clock that is due for the first word only: every later word waits for the final redraw.
    monkeypatch.setattr(explorer_run, "RedrawClock",
                        lambda: RedrawClock(interval=float("inf"), max_wait=float("inf"), first_wait=0))
    result = explorer.run()
    n = _sources(explorer)
    assert [s[1] for s in seen] == list(range(1, n + 1)) == [s[2] for s in seen]  # one word at a time
    # Batched: shown with the first word, then drawn once at the end (not per word).
    assert redraws == [1, n], redraws
    assert len(explorer.graph.layout_data.words) == n and explorer.progress.bar.value == n
    assert result.complete and done == [result] and explorer.explanation is result
    assert explorer.status.startswith("Done") and explorer.error == "" and not explorer.running
    assert len(explorer.chips.chips) == n
    assert all("ipyinfluence-chip" in c._dom_classes and "ipyinfluence-chip-done" in c._dom_classes
               for c in explorer.chips.chips.values())
    assert len(explorer.bars.ranked()) == n
    assert explorer.progress.label.value.startswith(f"{n}/{n} words")
    assert not explorer.run_button.disabled and explorer.cancel_button.disabled


def test_a_short_run_is_drawn_once_and_the_old_result_stays_until_then(explorer, monkeypatch):
    """A run shorter than the clock's first wait draws once, at the end: the browser does
    not clear the earlier result and re-draw while the kernel computes (issue 10.8)."""
    first = explorer.run()
    shown_during_run = []
    explorer.on_word(lambda _w: shown_during_run.append(explorer.graph.explanation))
    redraws = []
    draw = explorer.graph.redraw
    monkeypatch.setattr(explorer.graph, "redraw", lambda: (redraws.append(len(explorer.graph.explanation.words)),
                                                           draw()))
    monkeypatch.setattr(explorer_run, "RedrawClock", lambda: RedrawClock(interval=float("inf"),
                                                                         max_wait=float("inf")))
    sent = []
    for chip in explorer.chips.chips.values():  # the same words again: no chip changes, no message
        chip._send = lambda msg, buffers=None: sent.append(msg)
    second = explorer.run()
    n = _sources(explorer)
    assert shown_during_run == [first] * n  # the views kept the earlier result while computing
    assert redraws == [n] and explorer.graph.explanation is second and second is not first
    assert sent == [] and all("ipyinfluence-chip-done" in c._dom_classes for c in explorer.chips.chips.values())


def test_cancel_from_a_callback_stops_early_and_keeps_words(explorer):
    first = explorer.run()
    cancelled = []
    explorer.on_cancel(cancelled.append)

    def stop_after_two(_word):
        if explorer.words_done == 2:
            explorer.cancel()

    explorer.on_word(stop_after_two)
    partial = explorer.run()
    assert partial is not first and len(partial.words) == 2 and not partial.complete
    assert explorer.status.startswith("Cancelled after 2 of")
    assert len(explorer.graph.layout_data.words) == 2 and cancelled == [partial]
    assert not explorer.running and not explorer.run_button.disabled
    explorer.on_word(stop_after_two, remove=True)
    assert explorer.run().complete  # usable again


def test_cancel_click_in_background_mode(mlm):
    x = Explorer(mlm, text=MLM_TEXT, steps=STEPS, background=True)
    gate = FirstWordGate(x)
    thread = x.run()
    assert isinstance(thread, threading.Thread)
    assert gate.arrived.wait(60), "the background run produced no word"
    assert x.running and not x.cancel_button.disabled
    x.run()  # a second Run while running is refused with a message
    assert "in progress" in x.status
    x.cancel_button.click()  # processed while the worker runs
    gate.release()
    result = x.wait(60)
    assert not thread.is_alive() and len(result.words) == 1
    assert x.status.startswith("Cancelled after 1 of") and not x.running


@pytest.mark.parametrize("change, message", [
    (lambda x: setattr(x, "text", ""), "empty"),
    (lambda x: setattr(x.qoi_editor.good, "value", "xylophonist"), "WordPieces"),
    (lambda x: setattr(x, "text", "the guards are happy ."), "[MASK]"),
    (lambda x: setattr(x, "text", "the guards " * 40 + "[MASK] happy ."), "shorten it"),
])
def test_bad_input_shows_a_message_and_keeps_results(explorer, change, message):
    good = explorer.run()
    marks = list(explorer.graph.figure.marks)
    drawn = {key: (np.array(m.x), np.array(m.y), list(m.colors)) for key, m in explorer.graph.line_marks.items()}
    assert any(len(x) for x, _y, _c in drawn.values())
    errors = []
    explorer.on_error(errors.append)
    change(explorer)
    assert explorer.run() is good
    assert message in explorer.error and message in explorer.error_line.value
    assert errors == [explorer.error] and explorer.status.startswith("Error")
    assert explorer.explanation is good and explorer.graph.explanation is good
    assert list(explorer.graph.figure.marks) == marks
    for key, (x, y, colors) in drawn.items():  # the same segments are drawn
        m = explorer.graph.line_marks[key]
        assert np.array_equal(np.asarray(m.x), x) and np.array_equal(np.asarray(m.y), y)
        assert list(m.colors) == colors
    assert not explorer.running and not explorer.run_button.disabled


def test_text_hint_for_missing_mask(explorer):
    explorer.text = "the guards are happy ."
    assert "[MASK]" in explorer.text_hint.value
    explorer.text = MLM_TEXT
    assert explorer.text_hint.value == ""


def test_model_errors_are_caught(explorer, monkeypatch):
    good = explorer.run()

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(run_loop, "iter_explain", broken)
    explorer.run()
    assert explorer.error == "RuntimeError: boom" and "boom" in explorer.last_traceback
    assert explorer.explanation is good

    real = importlib.import_module("ipyinfluence.explain").iter_explain

    def fails_midway(*args, **kwargs):
        stream = real(*args, **kwargs)
        original = stream._iter

        def words():
            yield next(original)
            raise MemoryError("out of memory on word 2")

        stream._iter = words()
        return stream

    monkeypatch.setattr(run_loop, "iter_explain", fails_midway)
    explorer.run()
    assert "MemoryError" in explorer.error and explorer.status.startswith("Error after 1 of")
    assert len(explorer.explanation.words) == 1 and len(explorer.graph.layout_data.words) == 1
    assert not explorer.running


def test_controls_reach_the_graph(explorer):
    explorer.run()
    explorer.level_toggle.value = "embedding"
    assert explorer.level == "embedding" and explorer.graph.drawn_level == "embedding"
    explorer.palette_box.value = "colorblind"
    assert explorer.graph.palette == "colorblind"
    chips = explorer.chips.chips
    first = next(iter(chips))
    chips[first].value = False
    assert explorer.graph.selected == [p for p in chips if p != first]
    assert first not in {d.position for d in explorer.graph.layout_data.words}
    explorer.chips.none_button.click()
    assert explorer.graph.layout_data.words == []
    explorer.chips.all_button.click()
    assert explorer.graph.selected is None
    explorer.steps_box.value = 4
    assert explorer.steps == 4
    explorer.run()
    assert explorer.explanation.steps == 4 and explorer.explanation.level == "embedding"


def test_exports(explorer, tmp_path):
    explorer._export_clicked("svg")
    assert "Run first" in explorer.export_line.value  # nothing to export yet
    explorer.run()
    explorer._export_clicked("svg")
    data = re.search(r"base64,([A-Za-z0-9+/=]+)", explorer.export_line.value).group(1)
    root = ET.fromstring(base64.b64decode(data))
    assert len(root.findall(".//{http://www.w3.org/2000/svg}polyline")) >= _sources(explorer)
    explorer.export_dir = tmp_path
    explorer.export_buttons["html"].click()
    written = list(tmp_path.glob("*.html"))
    assert len(written) == 1 and str(written[0]) in explorer.export_line.value
    assert "https://" not in written[0].read_text()
    assert '"words"' in explorer.export("json")


def test_default_model_loads_lazily(monkeypatch):
    monkeypatch.setenv("IPYINFLUENCE_MODEL", "tiny-encoder")
    x = Explorer(steps=STEPS)
    assert x.model is None and "first run" in x.model_line.value and x.qoi_editor.task == ""
    result = x.run()
    assert x.error == "" and result is not None and result.complete
    assert x.model.task == "encoder" and "tiny" in x.model_line.value  # the model's note is shown
    assert x.text == "the movie was not good ." and x.qoi_editor.reference.value == "a great film"
    kept = Explorer(text="a film .", steps=STEPS)
    kept.load()
    assert kept.text == "a film ."


def test_a_model_that_cannot_load_shows_a_message():
    x = Explorer(model=42, steps=STEPS)  # not loadable: refused with a reason, no network touched
    assert x.run() is None
    assert "cannot load a model from int" in x.error and x.model is None and not x.running
    assert not x.run_button.disabled


def test_bad_constructor_options_name_the_choices(mlm):
    from ipyinfluence import InfluenceError

    with pytest.raises(InfluenceError, match="method must be one of"):
        Explorer(mlm, method="magic")
    with pytest.raises(InfluenceError, match="level must be"):
        Explorer(mlm, level="heads")
    x = Explorer(mlm, text=MLM_TEXT, steps=STEPS, baseline="[UNK]", method=METHODS[-1])
    result = x.run()  # any single token is a baseline; the options reach the engine
    assert x.error == "" and (result.baseline, result.method) == ("[UNK]", METHODS[-1])
    x.method_box.value, x.top_k_box.value = "gpr", 2
    result = x.run()
    assert x.error == "" and (result.method, result.top_k) == ("gpr", 2)
    assert all(len(s.chosen) == 2 for s in result.words[0].embedding.steps[1:])


def _messages_of_a_first_run(model, text: str) -> int:
    """Widget update messages a new Explorer sends for its first run of ``text`` (every
    widget's ``_send``, counted whether or not a front end is attached)."""
    import ipywidgets

    sent = []
    real = ipywidgets.Widget._send
    x = Explorer(model, text=text, steps=STEPS)
    try:
        ipywidgets.Widget._send = lambda self, msg, buffers=None: (sent.append(type(self).__name__),
                                                                    real(self, msg, buffers))
        x.run()
    finally:
        ipywidgets.Widget._send = real
    assert x.explanation.complete
    return len(sent)


def test_a_runs_widget_messages_barely_grow_with_the_sentence(mlm):
    """The browser's time for a run went into per-token widget messages (issue 10.8: ~330
    for a 36-token first run, 7 per token from the coloured sentence's buttons alone):
    now the views send a fixed number per redraw, and only a changed chip costs one."""
    short = "the guards [MASK] happy ."
    long = ("the author that the guards who the pilots near the dancers like hate [MASK] happy because the "
            "movie about the senators and their farmers was not very good and the plot was boring .")
    n_short, n_long = len(mlm.encode(short).tokens), len(mlm.encode(long).tokens)
    assert n_long - n_short >= 25
    m_short, m_long = _messages_of_a_first_run(mlm, short), _messages_of_a_first_run(mlm, long)
    per_token = (m_long - m_short) / (n_long - n_short)
    assert per_token <= 1.2, (m_short, m_long, per_token)  # the chip marking a word done
    assert m_long <= 100, m_long
