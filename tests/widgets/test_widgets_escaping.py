"""Issue 9.1: no string from a model folder, the user or an exception reaches a page as
markup. A model folder whose special tokens, vocabulary tokens, class labels and name
are hostile HTML is shown in every view; then every ``widgets.HTML`` value in the tree
is parsed and must contain no element or attribute that came from those strings.
(The browser twin is tests/browser/test_hostile_model.py.)"""

from __future__ import annotations

from html.parser import HTMLParser

import ipywidgets as widgets
import pytest
from hostile_model import BAD, GOOD, HOSTILE, MASK, WORD, build_folder, text

from ipyinfluence import ClassContrast, TokenContrast, load_model
from ipyinfluence.errors import InfluenceError
from ipyinfluence.widgets import Explorer
from ipyinfluence.widgets.escape import esc

ALLOWED = {"b", "i", "small", "span", "sub", "sup", "table", "tr", "td", "th", "div", "caption", "br", "a",
           "code", "p", "ul", "li", "em", "strong",
           "style"}  # the coloured sentence's generated sheet: checked below to hold no outside string


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.bad: list[str] = []
        self._in_style = False

    def handle_data(self, data):
        if self._in_style and ("pwn" in data or "<" in data or "@import" in data or "url(" in data):
            self.bad.append(f"<style> holding {data!r}")

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_starttag(self, tag, attrs):
        self._in_style = tag == "style"
        names = [a for a, _ in attrs]
        if tag not in ALLOWED or any(a.startswith("on") for a in names) or \
                any("pwn" in (v or "") for _, v in attrs):
            self.bad.append(f"<{tag} {attrs}>")


def html_values(root) -> list[str]:
    """Every HTML string shown under ``root`` (children and widget-valued attributes)."""
    seen, out, todo = set(), [], [root]
    while todo:
        w = todo.pop()
        if id(w) in seen:
            continue
        seen.add(id(w))
        if isinstance(w, (widgets.HTML, widgets.HTMLMath)):
            out.append(w.value)
        todo.extend(getattr(w, "children", ()) or ())
        todo.extend(v for v in vars(w).values() if isinstance(v, widgets.Widget))
    return out


def assert_no_markup_injected(root) -> str:
    values = html_values(root)
    page = "\n".join(values)
    for v in values:
        p = _Tags()
        p.feed(v)
        assert not p.bad, f"markup from outside in an HTML widget: {p.bad} in {v!r}"
    assert "<script" not in page.lower()
    return page


@pytest.fixture(scope="module")
def hostile_mlm(tmp_path_factory):
    return load_model(build_folder(tmp_path_factory.mktemp("hostile")), device="cpu")


@pytest.fixture(scope="module")
def hostile_classifier(tmp_path_factory):
    return load_model(build_folder(tmp_path_factory.mktemp("hostile-cls"), "classification"), device="cpu")


def test_hostile_masked_lm_strings_are_shown_as_text(hostile_mlm):
    assert hostile_mlm.mask_token == MASK and MASK in hostile_mlm.encode(text()).tokens
    x = Explorer(hostile_mlm, text=text(), qoi=TokenContrast(GOOD, BAD), steps=3)
    x.run()
    assert x.explanation is not None and x.explanation.complete, x.error
    # every view: a click on every node row, the QoI row included
    for row in range(-1, hostile_mlm.num_layers + 3):
        for pos in range(len(x.explanation.tokens)):
            try:
                x.graph.show_node(row, pos)
            except Exception:  # noqa: BLE001 - rows outside the picture; we only look at the HTML
                pass
    page = assert_no_markup_injected(x)
    # the strings are there, as text: the test really shows them
    assert esc(MASK) in page and esc(hostile_mlm.name) in page and esc(GOOD) in page

    # an exception whose text is hostile, in the graph's click handler ...
    def boom(*_a):
        raise InfluenceError(f"bad node {WORD}")

    x.graph.show_node = boom
    x.graph._on_node_click(None, {"data": {"index": 0}})
    x.graph._on_grid_click(None, {"data": {"index": 0}})
    # ... and an engine error naming the hostile mask token (no mask in the text)
    x.text = "the guards like it ."
    x.run()
    assert MASK in x.error
    page = assert_no_markup_injected(x)
    assert esc(f"bad node {WORD}") in page and esc(MASK) in page


def test_hostile_class_labels_and_model_name_are_text(hostile_classifier):
    labels = hostile_classifier.labels
    assert set(labels) <= set(HOSTILE)
    x = Explorer(hostile_classifier, text="the movie was good .", qoi=ClassContrast(0, 1), steps=3)
    x.run()
    assert x.explanation.complete, x.error
    page = assert_no_markup_injected(x)
    assert esc(labels[0]) in page and esc(hostile_classifier.name) in page


def test_every_widget_escapes_through_one_helper():
    """One escaping rule for the whole widget layer: ``widgets/escape.esc`` (quotes too, so a
    string is safe in an attribute as well as in content); no module keeps its own."""
    from pathlib import Path

    import ipyinfluence.widgets as package

    own = [p.name for p in Path(package.__file__).parent.glob("*.py")
           if p.name != "escape.py" and "html.escape" in p.read_text(encoding="utf-8")]
    assert own == []
