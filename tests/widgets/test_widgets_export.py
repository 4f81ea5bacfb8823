"""Standalone exports: the SVG parses and draws the known picture, the HTML needs no
network, the JSON round-trips."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from ipyinfluence.results import Explanation
from ipyinfluence.widgets import save, to_html, to_json, to_svg
from ipyinfluence.widgets.export import export_text
from ipyinfluence.widgets.style import PALETTES

NS = {"s": "http://www.w3.org/2000/svg"}
GRID = 6 * 4 + 1  # 6 tokens × (x, h0, h1, h2) + the QoI


def _count(root, tag, cls=None):
    found = root.findall(f".//s:{tag}", NS)
    return [e for e in found if cls is None or cls in e.get("class", "").split()]


def test_svg_embedding_level_counts(known):
    root = ET.fromstring(to_svg(known, level="embedding"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(_count(root, "polyline")) == 2  # one chain per word
    assert len(_count(root, "circle", "grid-node")) == GRID
    assert len(_count(root, "circle", "pattern-node")) == 8
    assert len(_count(root, "circle")) == GRID + 8
    author = [g for g in _count(root, "g", "pattern") if g.get("data-position") == "2"][0]
    assert "positive" in author.get("class") and author.get("data-token") == "author"
    points = author.find("s:polyline", NS).get("points").split()
    assert len(points) == 5  # x, h0, h1, h2, QoI
    xs = [float(p.split(",")[0]) for p in points]
    assert xs[0] == xs[1] == xs[2] < xs[3] == xs[4]  # positions 2, 2, 2, 3, QoI at 3


def test_svg_attention_level_styles_and_heads(known):
    root = ET.fromstring(to_svg(known, palette="colorblind"))
    lines = _count(root, "polyline")
    assert len(lines) == 4  # author: solid, dashed skip, solid; happy: one solid chain
    dashed = [p for p in lines if "dashed" in p.get("class")]
    assert len(dashed) == 1 and dashed[0].get("stroke-dasharray")
    assert sorted(t.text for t in _count(root, "text", "head")) == ["H0", "H2", "H3"]
    strokes = {p.get("stroke") for p in lines}
    assert strokes == {PALETTES["colorblind"]["positive"], PALETTES["colorblind"]["negative"]}
    assert [t.text for t in _count(root, "text", "token")] == known.tokens


def test_svg_selection(known):
    root = ET.fromstring(to_svg(known, words=[4], level="embedding"))
    assert [g.get("data-position") for g in _count(root, "g", "pattern")] == ["4"]


def test_html_is_standalone(known):
    page = to_html(known)
    assert page.startswith("<!DOCTYPE html>")
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(//|[a-z]+:)""", page)
    assert "<svg" in page and page.count("<polyline") == 4
    data = re.search(r'<script type="application/json" id="ipyinfluence-data">(.*?)</script>', page, re.S)
    assert Explanation.from_json(data.group(1)) == known


def test_html_escapes_text(known):
    known.text = "a </script><b>bold</b> & more"
    page = to_html(known)
    assert page.count("</script>") == 1 and "<b>bold</b>" not in page


def test_json_round_trip_and_save(known, tmp_path):
    assert Explanation.from_json(to_json(known)) == known
    for suffix in ("svg", "html", "json"):
        path = save(known, tmp_path / f"out.{suffix}")
        assert path.read_text(encoding="utf-8") == export_text(known, suffix)
    ET.parse(tmp_path / "out.svg")
    with pytest.raises(ValueError, match="svg, html or json"):
        save(known, tmp_path / "out.png")


def test_real_explanation_svg(mlm_result):
    root = ET.fromstring(to_svg(mlm_result, level="embedding"))
    assert len(_count(root, "polyline")) == len(mlm_result.words)
    n = len(mlm_result.tokens)
    assert len(_count(root, "circle", "grid-node")) == n * (mlm_result.num_layers + 2) + 1


def test_exports_carry_a_legend_and_the_coloured_sentence(known):
    root = ET.fromstring(to_svg(known, palette="colorblind"))
    legend = [g for g in _count(root, "g") if g.get("class") == "legend"]
    assert len(legend) == 1
    strokes = {e.get("stroke") for e in legend[0].findall("s:line", NS)}
    assert {PALETTES["colorblind"]["positive"], PALETTES["colorblind"]["negative"]} <= strokes
    text = " ".join(t.text or "" for t in legend[0].findall("s:text", NS))
    assert "q(x) − q(b)" in text and "0.8" in text  # the width scale: |q(x) − q(b)| = 0.8
    widths = [float(e.get("stroke-width")) for e in legend[0].findall("s:line", NS) if e.get("data-share")]
    assert widths == sorted(widths, reverse=True) and len(widths) == 5
    page = to_html(known)
    assert "ipyinfluence-sentence" in page and page.count("class='ipyinfluence-token'") == len(known.tokens)
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
