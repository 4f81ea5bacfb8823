"""Issue 9.1 in a real browser: a model folder whose mask / [CLS] / [SEP] tokens, added
vocabulary tokens, QoI words and folder name (the model name) are hostile HTML is shown
in the Explorer in JupyterLab. No dialog opens, no element from those strings appears,
no request leaves 127.0.0.1, and the strings are on the page as text."""

from __future__ import annotations

import json
import sys

import nbformat
import pytest
from browser_setup import ARTIFACTS, REPO
from jupyter_ui import kernel_exec, run_all, wait_for_app, wait_notebook_ready

sys.path.insert(0, str(REPO / "tests"))
from hostile_model import HOSTILE, MASK  # noqa: E402

pytestmark = pytest.mark.browser

NOTEBOOK = "notebooks/hostile_model_check.ipynb"


def open_in_lab(page, lab_server, path: str) -> None:
    page.goto(lab_server.with_token(f"/lab/tree/{path}?reset"))
    wait_for_app(page)
    assert wait_notebook_ready(page, path)["kernel"] == "python3"


@pytest.fixture
def hostile_notebook(server_root, tmp_path):
    code = f"""
import sys
sys.path.insert(0, {str(REPO / "tests")!r})
from hostile_model import BAD, GOOD, build_folder, text
from ipyinfluence import TokenContrast, load_model
from ipyinfluence.widgets import Explorer

folder = build_folder({str(tmp_path)!r})  # under pytest's tmp_path, not the machine's /tmp
explorer = Explorer(str(folder), text=text(), qoi=TokenContrast(GOOD, BAD), steps=3)
explorer.run()
for row in range(4):  # open the detail panel of a node on each row
    explorer.graph.show_node(row, 1)
explorer
"""
    error_code = """
explorer2 = Explorer(explorer.model, text="no mask here .", qoi=TokenContrast(GOOD, BAD), steps=3)
explorer2.run()
explorer2
"""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code), nbformat.v4.new_code_cell(error_code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, server_root / NOTEBOOK)
    return NOTEBOOK


def test_hostile_model_strings_never_become_markup(page, lab_server, hostile_notebook):
    dialogs: list[str] = []
    outside: list[str] = []

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    def on_request(request):
        url = request.url
        if url.startswith(("http", "ws")) and not url.split("/")[2].startswith("127.0.0.1"):
            outside.append(url)

    page.on("dialog", on_dialog)
    page.on("request", on_request)
    open_in_lab(page, lab_server, hostile_notebook)
    result = run_all(page, hostile_notebook)
    assert result["errors"] == [], result["errors"]

    explorers = page.locator(".ipyinfluence-explorer")
    explorers.nth(1).wait_for(state="visible", timeout=120_000)
    status = explorers.first.locator(".ipyinfluence-status")
    page.wait_for_function("el => /Done: \\d+ words/.test(el.textContent)", arg=status.element_handle(),
                           timeout=120_000)
    error = explorers.nth(1).locator(".ipyinfluence-error")
    page.wait_for_function("el => el.textContent.length > 0", arg=error.element_handle(), timeout=60_000)
    # hover and click what could carry an onmouseover / onclick payload
    for chip in explorers.first.locator(".ipyinfluence-chip").all()[:3]:
        chip.hover()
    explorers.first.locator(".ipyinfluence-qoi").hover()
    page.wait_for_timeout(500)  # give a payload's onerror/onload time to fire (it must not)

    found = page.evaluate("""() => ({
        pwn: document.querySelectorAll('.pwn').length,
        scripts: [...document.querySelectorAll('script')].filter(s => /alert\\(/.test(s.textContent)).length,
        handlers: [...document.querySelectorAll('.ipyinfluence-explorer *')]
                    .filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
        text: document.body.innerText,
    })""")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    explorers.first.screenshot(path=str(ARTIFACTS / "jupyterlab-hostile-model.png"))
    assert dialogs == []
    assert found["pwn"] == 0 and found["scripts"] == 0 and found["handlers"] == 0, found
    assert outside == []
    # the hostile strings are shown, as text: the QoI title names the mask token, the error too
    assert MASK in found["text"]
    assert MASK in error.text_content()
    shown = json.loads(kernel_exec(page, hostile_notebook, "import json; print(json.dumps(explorer.model.name))")
                       .strip().splitlines()[-1])
    assert shown in found["text"] and any(h in found["text"] for h in HOSTILE if h != MASK)
