"""What an Explorer run iterates over, and how it stays responsive.

**Cancel** (issue 10). A Cancel click is a widget message; the kernel handles it only
when nothing blocks the handler that reads it. The two ways out were measured in
Chromium against JupyterLab 4.6 + ipykernel 7.4 (``tests/browser/test_explorer_cancel.py``
and ``tests/artifacts/explorer-timings.json``):

* *worker thread*: the Run button starts the run in a thread and returns, so the kernel
  handles the Cancel click at once. At first the run then stopped after the current
  word: click → "Cancelled" 0.16-0.47 s in JupyterLab, 0.15-0.36 s in Voila, 0.50-1.03 s
  in Notebook 7 under a load average of 3-9, and 0.85 s with ~1.1 s words. Now the click's
  handler ends the run itself (:meth:`Explorer.cancel`, under the run's lock: the words
  done stay, the worker drops the word it was computing and changes nothing more), so
  the latency no longer depends on the word: ``benchmarks/explorer_browser.py --load 3``
  (load average 6) gives 0.03-0.12 s in JupyterLab, Notebook 7 and Voila, first and
  second run (before: 0.05-0.34 s), and 0.08 s with ~1.1 s words.
* *inline, processing UI events between words* (PyPI ``jupyter-ui-poll`` 1.1): on
  ipykernel 7.4 it does nothing (the kernel has no ``do_one_iteration`` any more; the
  wrapper swallows the error): 158 polls over 8 s handled no click, and in the browser
  the Cancel click was handled only after all 52 words had run.

So the Run button runs in a worker thread by default. Colab does not render widget
updates sent from a thread, so there the button runs inline (Cancel then acts after the
run). :meth:`Explorer.run` called in a cell runs inline and returns the explanation; it
handles Cancel clicks between words where the kernel still allows it (ipykernel < 7,
e.g. Colab, with ``jupyter-ui-poll`` installed), otherwise use the Run button to be able
to cancel. Polling is never done inside a widget-message handler: with no cell running,
``jupyter-ui-poll`` would defer the next cell forever.

**Cancel during "Preparing"** (issue 19.4): the shared pass over the α batch used to
run to its end (12.1 s on a BERT-base-sized model at 40 tokens). The run's Cancel flag is
now the engine's ``should_stop``: the pass runs in α slices (one row on that model) and
stops at the next slice or layer (:mod:`ipyinfluence.stoppable_pass`), with
:class:`~ipyinfluence.errors.Cancelled`, which the run turns into a plain cancel. Measured
in Chromium against JupyterLab 4.6 on that model at 40 tokens, at a load of ~9 on 2
cores (``tests/browser/test_explorer_prepare.py``): click → "Cancelled" 25-443 ms, the
worker gone 447-464 ms after the click was handled.

**gᵢ first** (issue 19.5): every ``g_i`` is known when the shared pass ends, long before
the first pattern on a large model, so :func:`updates` yields them at once (stage
``"totals"``, :func:`totals_preview`): the coloured sentence and the bars draw them while
the patterns are computed. A run's pass takes seconds on a busy CPU (all-MiniLM-L6-v2 at
40 tokens and 32 points: ~2.5 s at a load of 8 on 2 cores), so a run of more than
``2 × PREVIEW_POINTS`` points first draws the ``g_i`` of a :data:`PREVIEW_POINTS`-point
Gauss–Legendre pass (an eighth of the work), marked as a preview, then the exact ones:
click → shaded sentence 1.1 s there (first pattern 6.5 s; before, nothing until then).

**Redraws** are batched: every view records each word (``add_word``) and pushes the
pending changes (``redraw``) when :class:`~.views.RedrawClock` says so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from ..explanation_stream import ExplanationStream, iter_explain
from ..progressive import Update, iter_progressive
from ..results import EmbeddingPattern, Explanation, WordResult
from .colab import in_colab

UI_EVENTS_PER_POLL = 20
PREVIEW_POINTS = 4  # Gauss–Legendre points of the quick g_i preview


@dataclass
class RunOptions:
    text: str
    qoi: object
    steps: int
    preview_steps: int
    sources: Optional[list]
    options: dict  # baseline, level, top_k, method


def updates(model, run: RunOptions, should_stop: Optional[Callable[[], bool]] = None) -> Iterator[Update]:
    """Every word of the run as an :class:`~ipyinfluence.progressive.Update`: preview words
    first in progressive mode (``0 < preview_steps < steps``), then the exact ones; in the
    plain mode first ``"totals"`` updates (``word`` None, :class:`TotalsUpdate`) with every
    ``g_i``: a quick preview's (when ``should_stop`` is given: an interactive run) and the
    run's own as soon as its shared pass ends.
    One word per engine chunk (``max_batch=steps``), so Cancel waits for one word at most;
    ``should_stop`` ends the shared pass early (:class:`~ipyinfluence.errors.Cancelled`)."""
    kwargs = dict(steps=run.steps, sources=run.sources, max_batch=run.steps, should_stop=should_stop,
                  **run.options)
    if 0 < run.preview_steps < run.steps:
        yield from iter_progressive(model, run.text, run.qoi, preview_steps=run.preview_steps, **kwargs)
        return
    if should_stop is not None and (run.steps == "auto" or run.steps > 2 * PREVIEW_POINTS):
        quick = iter_explain(model, run.text, run.qoi, **{**kwargs, "steps": PREVIEW_POINTS,
                                                          "quadrature": "gauss-legendre"})
        yield TotalsUpdate("totals", None, quick.explanation, totals=totals_preview(quick), preview=True)
    stream = iter_explain(model, run.text, run.qoi, **kwargs)
    yield TotalsUpdate("totals", None, stream.explanation, totals=totals_preview(stream))
    for word in stream:
        yield Update("final", word, stream.explanation)


@dataclass
class TotalsUpdate(Update):
    """The shared pass is done: ``explanation`` is the run's (no word yet), ``totals`` its
    copy with every word's ``g_i`` (:func:`totals_preview`)."""

    totals: Optional[Explanation] = None
    preview: bool = False  # from a PREVIEW_POINTS pass: the exact g_i follow


def totals_preview(stream: ExplanationStream) -> Explanation:
    """The stream's explanation with a stand-in for every source word that carries only its
    ``g_i`` from the shared pass (no pattern: no steps, pattern influence 0, as a word not
    computed yet is drawn). The coloured sentence and the bars draw these until each
    word's result replaces its stand-in (same position)."""
    g = stream.prep.totals().tolist()
    expl = stream.explanation
    words = [WordResult(position=p, token=expl.tokens[p], total_influence=g[p], sign=1 if g[p] >= 0 else -1,
                        embedding=EmbeddingPattern(steps=[], influence=0.0)) for p in expl.sources
             if math.isfinite(g[p])]
    return dataclasses.replace(expl, words=words)


def with_totals(explanation: Explanation, totals: Optional[Explanation]) -> Explanation:
    """A copy of ``explanation`` whose words not computed yet are ``totals``' stand-ins."""
    if totals is None or totals.text != explanation.text or totals.sources != explanation.sources:
        return explanation
    done = {w.position for w in explanation.words}
    return dataclasses.replace(explanation, words=[w for w in totals.words if w.position not in done]
                               + list(explanation.words))


def button_runs_in_thread() -> bool:
    """The Run button's default: a worker thread, except in Colab (see the module doc)."""
    return not in_colab()


def _executing_a_cell() -> bool:
    """True in the main thread of an IPython kernel while it executes a cell (not while it
    handles a widget message: polling there would stall the kernel)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        from IPython import get_ipython

        kernel = getattr(get_ipython(), "kernel", None)
        parent = kernel.get_parent() if kernel is not None else None
    except Exception:  # noqa: BLE001 - no kernel, an old kernel: just don't poll
        return False
    return bool(parent) and parent.get("header", {}).get("msg_type") == "execute_request"


def _kernel_can_poll() -> bool:
    """ipykernel < 7 (``Kernel.do_one_iteration``): where ``jupyter-ui-poll`` works."""
    from IPython import get_ipython

    return hasattr(getattr(get_ipython(), "kernel", None), "do_one_iteration")


@contextlib.contextmanager
def ui_polling() -> Iterator[Callable[[], None]]:
    """A function that handles pending widget messages (Cancel clicks) when called; does
    nothing outside a cell's execution, on ipykernel 7+ or without ``jupyter-ui-poll``."""
    if not (_executing_a_cell() and _kernel_can_poll()):
        yield lambda: None
        return
    try:
        from jupyter_ui_poll import ui_events
    except ImportError:
        yield lambda: None
        return
    with ui_events() as poll:
        yield lambda: poll(UI_EVENTS_PER_POLL)
