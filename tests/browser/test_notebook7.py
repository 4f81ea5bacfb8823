"""The quickstart in Notebook 7 (served by the same Jupyter server as JupyterLab), in
Chromium: it runs and the Explorer draws exactly the patterns the kernel computed."""

from __future__ import annotations

import importlib.util
import shutil

import pytest
from browser_setup import ARTIFACTS, REPO, require
from jupyter_ui import expected_drawing, graph_stats, run_all, wait_for_app, wait_graph_drawn, wait_notebook_ready

pytestmark = pytest.mark.browser

PATH = "nb7/quickstart.ipynb"  # its own copy: its own kernel session, independent of the JupyterLab tests


def notebook7_installed() -> bool:
    if importlib.util.find_spec("notebook") is None:
        return False
    from importlib.metadata import version

    return int(version("notebook").split(".")[0]) >= 7


def test_quickstart_renders_in_notebook7(page, lab_server, server_root):
    require(notebook7_installed(), "Notebook 7 is not installed (pip install 'notebook>=7')")
    (server_root / "nb7").mkdir(exist_ok=True)
    shutil.copyfile(REPO / "notebooks" / "quickstart.ipynb", server_root / PATH)

    page.goto(lab_server.with_token(f"/notebooks/{PATH}"))
    wait_for_app(page)
    assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"  # not JupyterLab
    info = wait_notebook_ready(page, PATH)
    assert info["kernel"] == "python3", info
    result = run_all(page, PATH)
    assert result["errors"] == [], result["errors"]

    explorer = page.locator(".ipyinfluence-explorer").first
    graph = explorer.locator(".ipyinfluence-graph").first
    want = expected_drawing(page, PATH)
    assert want["words"] == want["sources"] > 0
    wait_graph_drawn(page, graph, min_nodes=want["nodes"], min_edges=want["segments"])
    drawn = graph_stats(graph)
    assert (drawn.edges, drawn.dashed, drawn.nodes, drawn.grid) == \
        (want["segments"], want["dashed"], want["nodes"], want["grid"]), (drawn, want)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "notebook7-quickstart.png"))
