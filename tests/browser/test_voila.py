"""The quickstart as a Voila dashboard, in Chromium: Voila executes the notebook and the
Explorer's pattern graph is drawn from the widget state alone (no notebook UI, no cells).

Its pictures go to tests/artifacts/ (the README's ``docs/screenshot.png`` comes from
test_explorer_projector.py, at 1280×720).
"""

from __future__ import annotations

import re

import pytest
from browser_setup import ARTIFACTS, VIEWPORT
from jupyter_ui import graph_stats, wait_graph_drawn

pytestmark = pytest.mark.browser

def test_quickstart_renders_in_voila(page, voila_server):
    # Voila answers only once every cell has run (the Explorer's run included).
    page.goto(voila_server.url + "/", timeout=300_000)
    explorer = page.locator(".ipyinfluence-explorer").first
    explorer.wait_for(state="visible", timeout=120_000)
    status = explorer.locator(".ipyinfluence-status")
    page.wait_for_function("el => /Done: \\d+ words/.test(el.textContent)", arg=status.element_handle(),
                           timeout=120_000)
    words = int(re.search(r"Done: (\d+) words", status.text_content()).group(1))
    assert explorer.locator(".ipyinfluence-chip").count() == words

    graph = explorer.locator(".ipyinfluence-graph").first
    # The picked word is drawn (by default the largest |g_i|, issue 19.2): its pattern has at
    # least x→h⁰, one layer step and hᴸ→QoI; nodes: at least the QoI and one per row.
    assert explorer.locator(".ipyinfluence-chip.mod-active").count() == 1
    wait_graph_drawn(page, graph, min_nodes=4, min_edges=3)
    drawn = graph_stats(graph)
    assert drawn.edges >= 3 and drawn.nodes >= 4 and drawn.grid > 0, drawn
    page.wait_for_function("el => /Drawn: 1 of \\d+ computed words/.test(el.textContent)",
                           arg=graph.element_handle())
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and "Error" not in explorer.locator(".ipyinfluence-error").text_content()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "voila-quickstart.png"))
    # Voila scrolls inside its own container, so a tall element is clipped to the window:
    # grow the window to the Explorer's height, then take it whole.
    height = explorer.evaluate("el => Math.ceil(el.getBoundingClientRect().height)")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": height + 40})
    explorer.evaluate("el => el.scrollIntoView({block: 'start'})")
    explorer.screenshot(path=str(ARTIFACTS / "voila-explorer.png"))
