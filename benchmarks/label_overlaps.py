"""Overlapping label pairs of PatternGraph + InfluenceBars in real Chromium (Voila), for a
40-token sentence at top_k 3: the numbers of issue 10 item 2, before/after.

    PYTHONPATH=$PWD python benchmarks/label_overlaps.py                 # tiny model, built here
    PYTHONPATH=$PWD python benchmarks/label_overlaps.py --json e.json   # a saved Explanation
    PYTHONPATH=/path/to/old/checkout python benchmarks/label_overlaps.py --json e.json   # "before"

Prints one JSON line: head labels drawn and overlapping pairs, token texts and pairs, bar
labels, pairs and those cut off, the graph's width in px. Needs /usr/bin/chromium and the
playwright package (never ``playwright install``); only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "tests" / "browser"
sys.path.insert(0, str(HERE))

from browser_setup import CHROMIUM, CHROMIUM_ARGS, free_port, start_server  # noqa: E402
from label_boxes import label_boxes  # noqa: E402

TINY = """
from ipyinfluence import TokenContrast, explain
from ipyinfluence.tiny import tiny_model
text = ("the author that the guards like [MASK] happy and the pilots near the dancers smile at the officers "
        "who the farmers love , but the teacher knows his surgeons swim with the boy who smiles very much .")
expl = explain(tiny_model(task="masked-lm"), text, TokenContrast("is", "are"), steps=3, level="attention", top_k=3)
"""
SHOW = """
from IPython.display import display
from ipyinfluence.widgets import InfluenceBars, PatternGraph
display(PatternGraph(expl), InfluenceBars(expl))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", help="an Explanation saved with to_json() (default: the tiny model's)")
    args = parser.parse_args()
    import nbformat
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="ipyinfluence-overlaps-"))
    load = (f"from ipyinfluence.results import Explanation\nexpl = Explanation.from_json(open({args.json!r}).read())"
            if args.json else TINY)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(load + SHOW)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "overlaps.ipynb")
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               JUPYTER_CONFIG_DIR=str(root / "config"), JUPYTER_RUNTIME_DIR=str(root / "runtime"),
               IPYTHONDIR=str(root / "ipython"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "voila", "overlaps.ipynb", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"]
    server = start_server("voila-overlaps", cmd, root, env, f"{url}/voila/static/voila.js", url, "")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url + "/", timeout=300_000)
            graph = page.locator(".ipyinfluence-graph").first
            graph.wait_for(state="visible", timeout=120_000)
            page.wait_for_timeout(5000)  # a benchmark, not a test: let the first relayout finish
            boxes = label_boxes(page, graph, page.locator(".ipyinfluence-bars").first)
            print(json.dumps({k: (len(v) if isinstance(v, list) else v) for k, v in boxes.items()}))
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
