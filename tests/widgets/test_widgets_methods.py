"""Every pattern method the engine offers, with top_k 1 and 2, draws without error, and
top_k > 1 draws every kept node."""

from __future__ import annotations

import importlib
import xml.etree.ElementTree as ET

import pytest

from ipyinfluence import InputError, TokenContrast, explain
from ipyinfluence.widgets import InfluenceBars, PatternGraph, to_svg
from ipyinfluence.widgets.details import node_details

METHODS = importlib.import_module("ipyinfluence.explain").METHODS


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("top_k", [1, 2])
def test_every_method_draws(mlm, method, top_k):
    try:
        e = explain(mlm, "the guards [MASK] happy .", TokenContrast("is", "are"), steps=3, method=method,
                    top_k=top_k, level="attention")
    except InputError as refusal:  # e.g. a single-path baseline refuses top_k > 1, with a reason
        assert "top_k" in str(refusal)
        return
    g = PatternGraph(e, level="embedding")
    for d in g.layout_data.words:
        kept = [len(s.chosen) for s in d.word.embedding.steps]
        expected = 1 + sum(a * b for a, b in zip(kept, kept[1:])) + kept[-1]
        assert len(d.segments) == expected
    g.level = "attention"
    assert g.drawn_level == "attention"
    assert ET.fromstring(to_svg(e)).tag.endswith("svg")
    InfluenceBars(e)
    for row in range(e.num_layers + 3):
        assert node_details(e, row, e.sources[0])
