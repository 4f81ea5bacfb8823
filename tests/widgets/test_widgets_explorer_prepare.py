"""The Explorer's "Preparing" phase (issue 19, items 4 and 5), headless: a Cancel there
stops the shared pass at its next layer, and every word's g_i is drawn in the coloured
sentence and the bars as soon as the pass ends, before any pattern."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from ipyinfluence import TokenContrast, gpr
from ipyinfluence.explanation_stream import ExplanationStream
from ipyinfluence.tiny import tiny_model
from ipyinfluence.widgets import Explorer

TEXT = "the author that the guards like [MASK] happy ."
STEPS = 4


@pytest.fixture(scope="module")
def deep():
    return tiny_model(layers=6)


def test_cancel_while_preparing_stops_the_shared_pass_at_the_next_layer(deep, monkeypatch):
    x = Explorer(deep, text=TEXT, qoi=TokenContrast("is", "are"), steps=STEPS)
    first = x.run()
    layers, in_backward, go = [], threading.Event(), threading.Event()
    real = gpr.layer_vjp

    def held_layer(*args):
        layers.append(1)
        if len(layers) == 1:  # the Cancel click lands while the backward's first layer runs
            in_backward.set()
            go.wait(30)
        return real(*args)

    monkeypatch.setattr(gpr, "layer_vjp", held_layer)
    x.run(background=True)
    assert in_backward.wait(60)
    x.cancel_button.click()
    assert x.status.startswith("Cancelling") and x.running
    go.set()
    assert x.wait(30) is first and not x._thread.is_alive() and not x.running
    assert len(layers) == 1, f"{len(layers)} of 6 backward layers ran after the Cancel"
    assert x.status.startswith("Cancelled before the first word") and x.graph.explanation is first
    assert not x.run_button.disabled and x.cancel_button.disabled


class FirstPatternGate:
    """Holds the engine before the first pattern (after the shared pass) until released."""

    def __init__(self, monkeypatch):
        self.reached, self._go = threading.Event(), threading.Event()
        real = ExplanationStream._compute

        def held(stream, part):
            if not self._go.is_set():
                self.reached.set()
                self._go.wait(30)
            return real(stream, part)

        monkeypatch.setattr(ExplanationStream, "_compute", held)

    def release(self) -> None:
        self._go.set()


def test_every_g_i_is_drawn_when_the_shared_pass_ends(deep, monkeypatch):
    x = Explorer(deep, text=TEXT, qoi=TokenContrast("is", "are"), steps=STEPS)
    gate = FirstPatternGate(monkeypatch)
    x.run(background=True)
    assert gate.reached.wait(60)  # the pass is done, no pattern yet
    expl = x.explanation
    assert expl is not None and expl.words == [] and "gᵢ of every word shown" in x.status
    sources = expl.sources
    assert all(x.sentence.shades[p] is not None for p in sources)  # every word shaded
    drawn = {w.position: w.total_influence for w in x.bars.ranked()}  # the Explorer's ranked list
    drawn_g = np.asarray([drawn[p] for p in sources])
    assert len(drawn) == len(sources) and np.all(drawn_g != 0)
    assert x.graph.explanation is None  # the graph waits for patterns
    assert "0/" in x.bars.caption.value  # no pattern is counted as computed
    gate.release()
    result = x.wait(60)
    assert result.complete and x.status.startswith("Done")
    final_g = [result.word(p).total_influence for p in sources]
    assert drawn_g == pytest.approx(final_g, rel=1e-5, abs=1e-9)  # the g_i drawn first are the words' own
    after = {w.position: w.total_influence for w in x.bars.ranked()}
    assert [after[p] for p in sources] == pytest.approx(final_g, rel=1e-12)


def test_cancel_after_the_shared_pass_ends_at_the_click_and_keeps_the_g_i(deep, monkeypatch):
    x = Explorer(deep, text=TEXT, qoi=TokenContrast("is", "are"), steps=STEPS)
    gate = FirstPatternGate(monkeypatch)
    x.run(background=True)
    assert gate.reached.wait(60)
    x.cancel_button.click()  # the worker is inside the first word's sweep: the run ends here
    assert x.status.startswith("Cancelled after 0 of") and not x.running
    assert all(x.sentence.shades[p] is not None for p in x.explanation.sources)  # the g_i stay
    gate.release()
    x.wait(60)
    assert x.explanation.words == [] and x.status.startswith("Cancelled after 0 of")


def test_a_long_pass_first_draws_a_quick_g_i_preview(deep, monkeypatch):
    """With more than 8 points the g_i of a 4-point Gauss–Legendre pass are drawn first
    (an eighth of the work: something on screen soon on a busy CPU), then the exact ones."""
    from ipyinfluence.widgets import explorer_run

    shown = []
    real = explorer_run.RunningMixin._show_totals

    def record(self, update):
        real(self, update)
        drawn = {w.position: w.total_influence for w in self.bars.ranked()}  # the ranked list's g_i
        shown.append((update.preview, update.explanation.steps, self.status,
                      [drawn[p] for p in update.explanation.sources]))

    monkeypatch.setattr(explorer_run.RunningMixin, "_show_totals", record)
    x = Explorer(deep, text=TEXT, qoi=TokenContrast("is", "are"), steps=16, quadrature="gauss-legendre")
    result = x.run(background=True) and x.wait(60)
    assert [s[:2] for s in shown] == [(True, 4), (False, 16)]
    assert "4-point preview" in shown[0][2] and "gᵢ of every word shown" in shown[1][2]
    final_g = [result.word(p).total_influence for p in result.sources]
    assert shown[1][3] == pytest.approx(final_g, rel=1e-5, abs=1e-9)
    assert shown[0][3] != shown[1][3]  # the preview's own numbers, replaced
    assert result.steps == 16 and x.status.startswith("Done")
