"""The quickstart in a real JupyterLab, in Chromium: it runs, the Explorer draws the
patterns the engine computed and the token chips redraw the graph. (Cancel:
test_explorer_cancel.py.)

The graph checks compare what the browser drew with what the kernel says should be drawn
(``ipyinfluence.widgets.geometry.layout`` of the same explanation): one SVG segment per
pattern edge, one dark dot per pattern node.
"""

from __future__ import annotations

import re

import pytest
from browser_setup import ARTIFACTS
from jupyter_ui import expected_drawing, graph_stats, run_all, wait_for_app, wait_graph_changed, \
    wait_graph_drawn, wait_graph_edges, wait_graph_signature, wait_notebook_ready

pytestmark = pytest.mark.browser

QUICKSTART = "notebooks/quickstart.ipynb"


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
