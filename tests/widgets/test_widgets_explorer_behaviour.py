"""Explorer behaviour from issues 9 and 10, headless: Cancel from the default Run button,
choice traits that never disagree with their boxes, Ctrl-C, computing only the selected
words, the [MASK]-not-read hint, the thread policy."""

from __future__ import annotations


import threading

import pytest
import torch
import traitlets

from ipyinfluence import EmbeddingSimilarity, TokenContrast, explain
from ipyinfluence.mask_reading import MaskNotReadWarning
from ipyinfluence.widgets import Explorer

from word_gate import FirstWordGate

MLM_TEXT = "the guards [MASK] happy ."  # as in conftest.py
STEPS = 3


def test_default_run_button_runs_in_a_thread_and_cancel_keeps_the_words(mlm):
    x = Explorer(mlm, text=MLM_TEXT, steps=STEPS)  # no background=: the default constructor
    gate = FirstWordGate(x)
    x.run_button.click()  # returns at once: the run goes on in a worker thread
    assert gate.arrived.wait(60), "the run produced no word"
    assert x.running and x._thread is not None and x._thread.is_alive()
    x.cancel_button.click()  # handled while the worker runs: the run ends here, at the click
    assert x.status.startswith("Cancelled after 1 of") and not x.running and not x.run_button.disabled
    assert len(x.explanation.words) == 1 and len(x.graph.layout_data.words) == 1
    gate.release()  # the worker goes on to finish the word it was on, then drops it
    result = x.wait(60)
    assert not x._thread.is_alive()
    assert len(result.words) == 1 and not result.complete and not x.running
    assert x.status.startswith("Cancelled after 1 of") and len(x.graph.layout_data.words) == 1
    gate.remove()
    x.run_button.click()  # a second run, also cancellable, here left to finish
    assert x.wait(60).complete and x.status.startswith("Done")


class StreamGate:
    """Holds the engine's stream inside ``next`` after its first word (where a real run
    spends its time), until :meth:`release`."""

    def __init__(self, monkeypatch):
        from ipyinfluence.widgets import explorer_run

        self.first, self._go, self.calls = threading.Event(), threading.Event(), 0
        real = explorer_run.updates

        def gated(model, run, **kwargs):
            words = (u for u in real(model, run, **kwargs) if u.stage != "totals")  # every g_i: not a word
            for i, update in enumerate(words):
                if i == 1 and self.calls == 0:  # computing the second word
                    self.first.set()
                    self._go.wait(30)
                yield update
            self.calls += 1

        monkeypatch.setattr(explorer_run, "updates", gated)

    def release(self) -> None:
        self._go.set()


def test_cancel_during_a_word_ends_the_run_at_the_click_and_drops_that_word(mlm, monkeypatch):
    """Cancel does not wait for the word being computed (issue 10.1): the run ends in the
    click's handler with the words done; the worker finishes its word later, drops it and
    changes nothing; a new Run waits for that worker, so two never compute at once."""
    gate = StreamGate(monkeypatch)
    x = Explorer(mlm, text=MLM_TEXT, steps=STEPS)
    seen, cancelled = [], []
    x.on_word(lambda w: seen.append(w.position))
    x.on_cancel(cancelled.append)
    old = x.run(background=True)
    assert gate.first.wait(60), "the run produced no word"
    x.cancel_button.click()  # the worker is inside the engine, computing word 2
    assert x.status.startswith("Cancelled after 1 of") and not x.running
    kept = x.explanation
    assert len(kept.words) == 1 and len(x.graph.layout_data.words) == 1 and cancelled == [kept]
    assert sum("ipyinfluence-chip-done" in c._dom_classes for c in x.chips.chips.values()) == 1
    x.run_button.click()  # a new run at once: its worker first waits for the old one
    new = x._thread
    assert new is not old and x.running
    gate.release()
    old.join(60)
    assert not old.is_alive()
    assert len(kept.words) == 1  # the dropped word went to the old stream, not the kept result
    assert x.wait(60).complete and x.status.startswith("Done") and not x.running
    assert seen[0] == kept.words[0].position and len(seen) == 1 + len(x.explanation.words)  # word 2 never reported


def test_cancel_before_the_first_word_keeps_the_earlier_result(mlm, monkeypatch):
    x = Explorer(mlm, text=MLM_TEXT, steps=STEPS)
    first = x.run()
    from ipyinfluence.widgets import explorer_run

    ready, go = threading.Event(), threading.Event()
    real = explorer_run.updates

    def slow_start(model, run, **kwargs):
        ready.set()
        go.wait(30)
        yield from real(model, run, **kwargs)

    monkeypatch.setattr(explorer_run, "updates", slow_start)
    x.run(background=True)
    assert ready.wait(60)
    x.cancel()
    assert x.status.startswith("Cancelling")
    go.set()
    assert x.wait(60) is first and x.status.startswith("Cancelled before the first word") and not x.running
    assert x.graph.explanation is first


def test_cancel_before_the_worker_starts_is_not_read_as_the_last_runs_state(mlm):
    """A Cancel between the Run click and the worker's first step (here: the worker waits
    for the previous run's thread) must see the new run, not the finished one before it."""
    x = Explorer(mlm, text=MLM_TEXT, steps=STEPS)
    first = x.run()
    hold = threading.Event()
    x._thread = threading.Thread(target=hold.wait, args=(30,), daemon=True)  # a previous worker still busy
    x._thread.start()
    x.run(background=True)
    x.cancel()
    assert x.status.startswith("Cancelling: the run stops before its first word"), x.status
    assert x.explanation is first and x.running
    hold.set()
    assert x.wait(60) is first and x.status.startswith("Cancelled before the first word") and not x.running


def test_run_in_a_cell_stays_inline_and_returns_the_explanation(mlm):
    x = Explorer(mlm, text=MLM_TEXT, steps=STEPS)
    result = x.run()
    assert result.complete and x._thread is None


def test_choice_traits_and_boxes_never_disagree(mlm):
    x = Explorer(mlm, text=MLM_TEXT, steps=STEPS)
    for name, bad in (("level", "heads"), ("palette", "neon"), ("method", "magic"), ("baseline", "xylophonist")):
        before = getattr(x, name)
        with pytest.raises(traitlets.TraitError):
            setattr(x, name, bad)
        assert getattr(x, name) == before
    assert (x.level_toggle.value, x.palette_box.value, x.method_box.value, x.baseline_box.value) == \
        ("attention", "paper", "gpr", "mask")
    x.steps, x.top_k = 1, 0  # clamped like the boxes
    assert (x.steps, x.steps_box.value, x.top_k, x.top_k_box.value) == (2, 2, 1, 1)
    x.steps = 10_000
    assert x.steps == x.steps_box.value == 5000
    x.baseline = "[UNK]"  # any single token: the box offers it too
    assert x.baseline_box.value == "[UNK]"
    x.steps = STEPS
    assert x.run().baseline == "[UNK]"
    with pytest.raises(traitlets.TraitError):
        x.threads = 0


def test_ctrl_c_in_the_run_loop_leaves_an_honest_status(mlm):
    x = Explorer(mlm, text=MLM_TEXT, steps=STEPS)

    def interrupt(_word):
        if x.words_done == 2:
            raise KeyboardInterrupt

    x.on_word(interrupt)
    with pytest.raises(KeyboardInterrupt):
        x.run()
    assert not x.running and not x.run_button.disabled and x.cancel_button.disabled
    assert x.status.startswith("Interrupted after 2 of") and "Running" not in x.status
    assert "interrupted" in x.progress.label.value
    x.on_word(interrupt, remove=True)
    assert x.run().complete  # usable again


def test_compute_only_the_selected_words(mlm):
    x = Explorer(mlm, text=MLM_TEXT, steps=STEPS)
    tokens = mlm.encode(MLM_TEXT).tokens
    assert [x.chips.chips[p].description for p in x.chips.chips] == [t for t in tokens if t != "[MASK]"]
    guards = tokens.index("guards")
    x.chips.select([guards])  # chips exist before any run
    x.only_selected = True
    assert x.only_selected_box.value
    result = x.run()
    assert result.sources == [guards] and [w.position for w in result.words] == [guards]
    assert set(x.chips.chips) == {p for p in range(len(tokens)) if tokens[p] != "[MASK]"}  # all still offered
    assert result == explain(mlm, MLM_TEXT, TokenContrast("is", "are"), steps=STEPS, sources=[guards],
                             quadrature=x.quadrature)
    x.chips.select([])
    x.run()
    assert "no word is selected" in x.error and x.explanation is result
    x.only_selected_box.value = False
    assert len(x.run().sources) == len(tokens) - 1
    y = Explorer(mlm, text=MLM_TEXT, steps=STEPS, sources=[guards])
    assert y.only_selected and y.run().sources == [guards]


def test_a_mask_the_qoi_does_not_read_is_named_in_the_widget_and_warned(encoder, mlm):
    text = "the author that the guards like [MASK] happy ."
    x = Explorer(encoder, text=text, qoi=EmbeddingSimilarity("a great film"), steps=STEPS)
    hint = x.text_hint.value
    assert "[MASK]" in hint and "masked-LM" in hint and "TokenContrast" in hint
    with pytest.warns(MaskNotReadWarning, match="reads the whole sentence"):
        explain(encoder, text, EmbeddingSimilarity("a great film"), steps=STEPS)
    assert "TokenContrast" not in Explorer(encoder, text="a fine film .", steps=STEPS).text_hint.value
    ok = Explorer(mlm, text=MLM_TEXT, steps=STEPS)
    assert ok.text_hint.value == ""


def test_thread_policy_applies_inside_the_worker(mlm, monkeypatch):
    seen = []
    x = Explorer(mlm, text=MLM_TEXT, steps=STEPS, threads=2, background=True)
    x.on_word(lambda _w: seen.append(torch.get_num_threads()))
    x.run()
    x.wait(60)
    assert seen and set(seen) == {2}
    monkeypatch.setenv("IPYINFLUENCE_THREADS", "1")
    x.threads = "auto"
    seen.clear()
    x.run()
    x.wait(60)
    assert set(seen) == {1}
