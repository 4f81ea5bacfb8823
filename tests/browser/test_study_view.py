"""StudyView in a real JupyterLab, in Chromium: the heat map shows the study's shares, a
click on a cell lists the sentences whose pattern passes there, Cancel stops a background run."""

from __future__ import annotations

import json
import re
import time

import nbformat
import pytest
from browser_setup import ARTIFACTS
from jupyter_ui import kernel_exec, run_all, wait_for_app, wait_notebook_ready

pytestmark = pytest.mark.browser

STUDY = "notebooks/study_check.ipynb"


@pytest.fixture
def study_notebook(server_root):
    """A background StudyView over 64 template sentences; each takes >= 0.25 s (a slow model, simulated)."""
    code = """
import time
from ipyinfluence.tiny import tiny_model
from ipyinfluence.widgets import StudyView

view = StudyView(tiny_model(), n=0, steps=3, background=True, refresh_every=0)
_refresh = view.refresh
def slow_refresh():
    _refresh()
    time.sleep(0.25)
view.refresh = slow_refresh
view
"""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, server_root / STUDY)
    return STUDY


def kernel_json(page, code: str) -> dict:
    out = kernel_exec(page, STUDY, code)
    assert "ERROR" not in out, out
    return json.loads(out.strip().splitlines()[-1])


def test_study_view_runs_cancels_and_answers_a_cell_click(page, lab_server, study_notebook):
    page.goto(lab_server.with_token(f"/lab/tree/{STUDY}?reset"))
    wait_for_app(page)
    assert wait_notebook_ready(page, STUDY)["kernel"] == "python3"
    result = run_all(page, STUDY)
    assert result["errors"] == [], result["errors"]

    view = page.locator(".ipyinfluence-study-view").first
    status = view.locator(".ipyinfluence-study-status")
    box = view.bounding_box()
    assert box and box["width"] > 400 and box["height"] > 400  # the view is on screen
    view.locator("button.ipyinfluence-study-run").click()
    page.wait_for_function("el => /Running: [1-9]\\d* of 64 sentences/.test(el.textContent)",
                           arg=status.element_handle(), timeout=120_000)
    cancel = view.locator("button.ipyinfluence-study-cancel")
    assert cancel.is_enabled()
    cancel.click()
    page.wait_for_function("el => /Cancelled after \\d+ of 64 sentences/.test(el.textContent)",
                           arg=status.element_handle(), timeout=60_000)
    done = int(re.search(r"Cancelled after (\d+) of 64", status.text_content()).group(1))
    assert 1 <= done < 64
    state = kernel_json(page, """
import json
print(json.dumps({"running": view.running, "alive": view._thread.is_alive(), "done": len(view.study.explanations),
                  "grid": view.aggregates.heatmap(view.role_box.value), "role": view.role_box.value}))
""")
    assert state["running"] is False and state["alive"] is False and state["done"] == done
    assert view.locator("button.ipyinfluence-study-run").is_enabled() and not cancel.is_enabled()

    # The heat map: one cell per layer and route; white exactly where no pattern goes.
    grid = state["grid"]
    heat = view.locator(".ipyinfluence-study-heatmap")
    rows = heat.locator("g.heatmaprow")
    page.wait_for_function("([el, n]) => el.querySelectorAll('rect.heatmapcell').length === n",
                           arg=[heat.element_handle(), len(grid) * len(grid[0])], timeout=30_000)
    fills = heat.evaluate("el => [...el.querySelectorAll('g.heatmaprow')].map(r => "
                          "[...r.querySelectorAll('rect.heatmapcell')].map(c => getComputedStyle(c).fill))")
    for data_row, drawn_row in zip(grid, fills):
        for share, fill in zip(data_row, drawn_row):
            assert (fill == "rgb(255, 255, 255)") == (share == 0), (share, fill)

    # Click the busiest cell: the list shows exactly the kernel's sentences through it.
    r, c = max(((i, j) for i in range(len(grid)) for j in range(len(grid[0]))), key=lambda ij: grid[ij[0]][ij[1]])
    options = view.locator(".ipyinfluence-study-cell-sentences select option")
    started = time.perf_counter()
    rows.nth(r).locator("rect.heatmapcell").nth(c).click()
    page.wait_for_function("el => el.querySelectorAll('option').length > 0",
                           arg=view.locator(".ipyinfluence-study-cell-sentences select").element_handle(),
                           timeout=30_000)
    click_to_list_s = time.perf_counter() - started
    want = kernel_json(page, f"""
import json
route = "skip" if {c} == 0 else {c} - 1
print(json.dumps({{"texts": [view.study.instances[i].text for i in view.cell({r} + 1, route)],
                   "selected": [int(v) for v in __import__("numpy").asarray(view.heatmap.selected).reshape(-1)]}}))
""")
    assert want["selected"] == [r, c]
    assert [o.replace("\xa0", " ").strip() for o in options.all_text_contents()] == want["texts"]  # nbsp as drawn
    assert len(want["texts"]) == round(grid[r][c] * done)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "study-view-click.txt").write_text(f"cell click to sentence list: {click_to_list_s:.2f} s\n")
    view.screenshot(path=str(ARTIFACTS / "jupyterlab-study-view.png"))


HIST = "notebooks/study_histogram.ipynb"
HIST_CODE = """
from ipyinfluence.tiny import tiny_model
from ipyinfluence.widgets import StudyView

view = StudyView(tiny_model(), n=0, steps=3)
view.run()
view.ab_layer.value, view.ab_head.value = 1, 0
view
"""

# What bqplot drew of the ablation histogram: per bin group its bars' heights and widths,
# the x tick labels, the y axis's pixels per sentence (from its 0 tick and its top tick)
# and the plot area's height.
HIST_JS = """
fig => {
  const groups = [...fig.querySelectorAll('g.bargroup')].map(g =>
    [...g.querySelectorAll('rect.bar')].map(r => { const b = r.getBoundingClientRect(); return {h: b.height, w: b.width}; }));
  const [xAxis, yAxis] = [...fig.querySelectorAll('g.axis')];
  const yTicks = [...yAxis.querySelectorAll('g.tick')].map(t => {
    const b = t.querySelector('line').getBoundingClientRect();
    return {v: Number(t.textContent), y: b.top + b.height / 2};
  }).sort((a, b) => a.v - b.v);
  const zero = yTicks[0], top = yTicks[yTicks.length - 1];
  return {groups, ticks: [...xAxis.querySelectorAll('g.tick text')].map(t => t.textContent),
          zero: zero.v, per_count: (zero.y - top.y) / (top.v - zero.v),
          plot: fig.querySelector('rect.plotarea_background, .plotarea_background').getBoundingClientRect().height};
}
"""


def test_ablation_histogram_bars_are_drawn_with_the_counts(page, lab_server, server_root):
    """Issue 19.1: after Ablate the browser drew bars 0 px tall and 1 px wide; now each bar's
    height is its count on a 0..max axis, the tallest fills the plot, and the x labels are
    the kernel's bins. A 1280×720 screenshot with the histogram is kept for the README."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(HIST_CODE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, server_root / HIST)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(lab_server.with_token(f"/lab/tree/{HIST}?reset"))
    wait_for_app(page)
    assert wait_notebook_ready(page, HIST)["kernel"] == "python3"
    result = run_all(page, HIST)
    assert result["errors"] == [], result["errors"]
    view = page.locator(".ipyinfluence-study-view").first
    view.locator("button.ipyinfluence-study-ablate").click()
    status = view.locator(".ipyinfluence-study-status")
    page.wait_for_function("el => /Ablated /.test(el.textContent)", arg=status.element_handle(), timeout=120_000)
    want = json.loads(kernel_exec(page, HIST, """
import json
from ipyinfluence.widgets.study_export import ablation_histogram
print(json.dumps(ablation_histogram(view.ablation)))
""").strip().splitlines()[-1])
    labels, counts = want
    most = max(max(row) for row in counts)
    fig = view.locator(".ipyinfluence-study-histogram")
    fig.scroll_into_view_if_needed()
    page.wait_for_function(f"fig => [...fig.querySelectorAll('rect.bar')].some(r => r.getBoundingClientRect().height > 20)"
                           f" && fig.querySelectorAll('g.bargroup').length === {len(labels)}",
                           arg=fig.element_handle(), timeout=30_000)
    drawn = fig.evaluate(HIST_JS)
    assert drawn["ticks"] == labels
    assert len(drawn["groups"]) == len(labels) and all(len(g) == 3 for g in drawn["groups"])
    assert drawn["zero"] == 0
    per_count = drawn["per_count"]  # as the y axis is drawn
    for b, group in enumerate(drawn["groups"]):
        for s, bar in enumerate(group):
            assert abs(bar["h"] - counts[s][b] * per_count) <= 1.5, (b, s, bar, counts[s][b], per_count)
            assert bar["w"] >= 8, bar  # visibly wide
    tallest = max(bar["h"] for g in drawn["groups"] for bar in g)
    assert tallest >= 0.9 * drawn["plot"] and drawn["plot"] > 150  # the y range ends at the largest count
    assert not [e for e in errors if "negative value" in e or "NaN" in e], errors
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    heat = view.locator(".ipyinfluence-study-heatmap")
    page.evaluate("el => el.scrollIntoView({block: 'start'})", heat.element_handle())
    page.screenshot(path=str(ARTIFACTS / "study-view-heatmap.png"))
    page.evaluate("el => el.scrollIntoView({block: 'end'})", fig.element_handle())
    page.screenshot(path=str(ARTIFACTS / "study-view-histogram.png"))
    (ARTIFACTS / "study-histogram.txt").write_text(
        f"bars: {sum(len(g) for g in drawn['groups'])}, tallest {tallest:.0f} px of a {drawn['plot']:.0f} px plot, "
        f"narrowest {min(bar['w'] for g in drawn['groups'] for bar in g):.1f} px\n")
