"""The quickstart in a real JupyterLab, in Chromium: it runs, the Explorer draws the
patterns the engine computed, the token chips redraw the graph, and Cancel stops a
background run.

The graph checks compare what the browser drew with what the kernel says should be drawn
(``ipyinfluence.widgets.geometry.layout`` of the same explanation): one SVG segment per
pattern edge, one dark dot per pattern node.
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from browser_setup import ARTIFACTS
from jupyter_ui import expected_drawing, graph_stats, kernel_exec, run_all, wait_for_app, wait_graph_changed, \
    wait_graph_drawn, wait_graph_edges, wait_graph_signature, wait_notebook_ready

pytestmark = pytest.mark.browser

QUICKSTART = "notebooks/quickstart.ipynb"
CANCEL = "notebooks/cancel_check.ipynb"


def open_in_lab(page, lab_server, path: str) -> None:
    page.goto(lab_server.with_token(f"/lab/tree/{path}?reset"))
    wait_for_app(page)
    info = wait_notebook_ready(page, path)
    assert info["kernel"] == "python3", info


def test_quickstart_draws_patterns_and_chips_redraw_them(page, lab_server):
    open_in_lab(page, lab_server, QUICKSTART)
    result = run_all(page, QUICKSTART)
    assert result["errors"] == [], result["errors"]
    assert result["ok"]

    explorer = page.locator(".ipyinfluence-explorer").first
    graph = explorer.locator(".ipyinfluence-graph").first
    want = expected_drawing(page, QUICKSTART)
    assert want["words"] == want["sources"] > 0  # the run in the notebook completed
    wait_graph_drawn(page, graph, min_nodes=want["nodes"], min_edges=want["segments"])
    drawn = graph_stats(graph)
    # The browser shows exactly the engine's patterns: every segment, every node, every grid point.
    assert drawn.edges == want["segments"], (drawn, want)
    assert drawn.dashed == want["dashed"], (drawn, want)
    assert drawn.nodes == want["nodes"], (drawn, want)
    assert drawn.grid == want["grid"], (drawn, want)
    assert re.search(r"Done: \d+ words", explorer.locator(".ipyinfluence-status").text_content())
    assert explorer.locator(".ipyinfluence-chip").count() == want["sources"]

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    explorer.screenshot(path=str(ARTIFACTS / "jupyterlab-explorer.png"))
    page.screenshot(path=str(ARTIFACTS / "jupyterlab-quickstart.png"))

    # Switch off the chip of the word with the longest pattern: its segments disappear.
    key, count = max(want["per_word"].items(), key=lambda kv: kv[1])
    word, position = key.rsplit("_", 1)
    chip = explorer.locator(".ipyinfluence-chip").nth(want["source_positions"].index(int(position)))
    assert chip.text_content().strip() == word
    chip.click()
    after_want = expected_drawing(page, QUICKSTART)  # queued behind the click on the kernel
    assert key not in after_want["per_word"] and after_want["segments"] == want["segments"] - count
    wait_graph_changed(page, graph, drawn.signature)
    wait_graph_edges(page, graph, after_want["segments"])
    after = graph_stats(graph)
    assert after.nodes == after_want["nodes"], (after, after_want)

    # ... and back on: the picture is the original one again.
    chip.click()
    wait_graph_signature(page, graph, drawn.signature)  # times out (fails) if it never comes back
    assert graph_stats(graph).edges == want["segments"]


@pytest.fixture
def cancel_notebook(server_root):
    """A background-mode Explorer whose run takes at least ~15 s on any machine."""
    code = """
import time
from ipyinfluence import TokenContrast
from ipyinfluence.tiny import tiny_model
from ipyinfluence.widgets import Explorer

model = tiny_model()
text = " ".join(["the author that the guards like [MASK] happy ."] + ["the pilots near the dancers smile ."] * 6)
explorer = Explorer(model, text=text, qoi=TokenContrast("is", "are"), background=True)
# A slow model, simulated: each of the 52 words takes at least 0.3 s, so Cancel lands mid-run.
explorer.on_word(lambda word: time.sleep(0.3))
explorer
"""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, server_root / CANCEL)
    return CANCEL


def test_cancel_stops_a_background_run(page, lab_server, cancel_notebook):
    open_in_lab(page, lab_server, cancel_notebook)
    result = run_all(page, cancel_notebook)
    assert result["errors"] == [], result["errors"]

    explorer = page.locator(".ipyinfluence-explorer").first
    status = explorer.locator(".ipyinfluence-status")
    explorer.locator("button.ipyinfluence-run").click()
    # Wait for the first word, so the run is really under way, then press Cancel.
    page.wait_for_function(
        "el => /Running: [1-9]\\d* of \\d+ words/.test(el.textContent)", arg=status.element_handle(),
        timeout=120_000)
    cancel = explorer.locator("button.ipyinfluence-cancel")
    assert cancel.is_enabled()
    cancel.click()
    page.wait_for_function("el => /Cancelled after \\d+ of \\d+ words/.test(el.textContent)",
                           arg=status.element_handle(), timeout=60_000)
    done, total = map(int, re.search(r"Cancelled after (\d+) of (\d+) words", status.text_content()).groups())
    assert 1 <= done < total, (done, total)

    state = json.loads(kernel_exec(page, cancel_notebook, """
import json
print(json.dumps({"running": explorer.running, "alive": explorer._thread.is_alive(),
                  "words": len(explorer.explanation.words), "total": explorer.words_total,
                  "complete": explorer.explanation.complete}))
""").strip().splitlines()[-1])
    assert state == {"running": False, "alive": False, "words": done, "total": total, "complete": False}
    assert explorer.locator(".ipyinfluence-chip.ipyinfluence-chip-done").count() == done
    assert not cancel.is_enabled() and explorer.locator("button.ipyinfluence-run").is_enabled()
    explorer.screenshot(path=str(ARTIFACTS / "jupyterlab-cancelled.png"))
