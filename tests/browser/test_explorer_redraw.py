"""Batched redraws, measured in a real JupyterLab: a 40-token sentence on the 2-layer
tiny model, from the Run click to the last word drawn (status "Done" and every pattern
segment in the SVG), against the engine's own time for the same explanation in the same
kernel. The ratio is reported (explorer_timing.py), not asserted; the test asserts that
the browser ends up showing exactly the engine's patterns.
"""

from __future__ import annotations

import json
import re

import pytest
from explorer_timing import record, run_until_drawn, write_notebook
from jupyter_ui import graph_stats, kernel_exec, run_all, wait_for_app, wait_notebook_ready

pytestmark = pytest.mark.browser

PATH = "redraw/forty_tokens.ipynb"
CODE = """
import time
from ipyinfluence import TokenContrast, explain
from ipyinfluence.tiny import tiny_model
from ipyinfluence.widgets import Explorer
from ipyinfluence.widgets.geometry import layout

model = tiny_model()
text = ("the author that the guards who the pilots near the dancers like hate [MASK] happy because the movie "
        "about the senators and their farmers was not very good and the plot was boring . but the end .")
qoi = TokenContrast("is", "are")
explain(model, text, qoi, steps=51, quadrature="paper", max_batch=51)  # warm-up
engine_s = []
for _ in range(3):
    t0 = time.perf_counter()
    reference = explain(model, text, qoi, steps=51, quadrature="paper", max_batch=51)
    engine_s.append(time.perf_counter() - t0)
segments = sum(len(d.segments) for d in layout(reference, None, "attention").words)
explorer = Explorer(model, text=text, qoi=qoi, steps=51, quadrature="paper", show_all=True)  # times drawing every word
explorer
"""

STATE = """
import json
print(json.dumps({"tokens": len(reference.tokens), "engine_s": min(engine_s), "segments": segments,
                  "same": explorer.explanation == reference}))
"""


def test_forty_tokens_browser_vs_engine_time(page, lab_server, server_root):
    write_notebook(server_root / PATH, CODE)
    page.goto(lab_server.with_token(f"/lab/tree/{PATH}"))
    wait_for_app(page)
    assert wait_notebook_ready(page, PATH)["kernel"] == "python3"
    result = run_all(page, PATH)
    assert result["errors"] == [], result["errors"]
    before = json.loads(kernel_exec(page, PATH, STATE.replace('explorer.explanation == reference', 'None'))
                        .strip().splitlines()[-1])
    assert before["tokens"] == 40, before

    explorer = page.locator(".ipyinfluence-explorer").first
    timing = run_until_drawn(explorer, before["segments"])
    state = json.loads(kernel_exec(page, PATH, STATE).strip().splitlines()[-1])
    assert state["same"], "the Explorer's explanation differs from the engine's"
    assert graph_stats(explorer.locator(".ipyinfluence-graph").first).edges == state["segments"]
    browser_s = timing["ms"] / 1000
    kernel_s = float(re.search(r"Done: \d+ words in ([\d.]+) s", timing["status"]).group(1))
    record("jupyterlab 40-token redraw", tokens=state["tokens"], engine_s=round(state["engine_s"], 3),
           explorer_kernel_s=kernel_s, browser_s=round(browser_s, 3), ratio=round(browser_s / state["engine_s"], 2))
