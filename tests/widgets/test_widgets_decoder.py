"""The Explorer's controls for causal LMs: next-token QoIs, the baselines a decoder has,
the IOI prompt as default, a run end to end and the exports (tiny random Llama)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from ipyinfluence import NextTokenContrast, NextTokenLogProb
from ipyinfluence.integration import default_baseline
from ipyinfluence.widgets import Explorer, QoIEditor
from ipyinfluence.widgets.decoder_controls import IOI_TEXT
from ipyinfluence.widgets.export import export_text

STEPS = 3


@pytest.fixture(scope="module")
def llama():
    from ipyinfluence import load_model

    return load_model("tiny-llama")


def test_qoi_editor_offers_next_token_qois(llama):
    ed = QoIEditor(llama)
    assert ed.task == "causal-lm" and list(ed.fields.children) == [ed.kind, ed.good, ed.bad]
    assert ed.qoi() == NextTokenContrast(" Mary", " John") and ed.valid
    ed.good.value = "Mary"  # no leading space: two tokens for this tokenizer
    assert not ed.valid and "2 tokens" in ed.error and "' Mary'" in ed.error and "leading space" in ed.error
    assert "leading space" in ed.message.value
    ed.good.value = " John"
    assert "same token" in ed.error
    ed.good.value = " Mary"
    ed.kind.value = "logprob"
    assert list(ed.fields.children) == [ed.kind, ed.token]
    assert "next token" in ed.error
    ed.token.value = " Mary"
    assert ed.valid and ed.qoi() == NextTokenLogProb(" Mary")
    ed.set_qoi(NextTokenContrast(" a", " the", position=3))
    assert ed.kind.value == "contrast" and ed.qoi() == NextTokenContrast(" a", " the", position=3)


def test_decoder_explorer_defaults_and_baselines(llama):
    x = Explorer(llama, steps=STEPS)
    assert x.text == IOI_TEXT
    assert x.qoi_editor.qoi() == NextTokenContrast(" Mary", " John")
    first = default_baseline(llama)
    assert list(x.baseline_box.options) == [first, "zero"] and x.baseline == first
    assert "mask" not in x.baseline_box.options
    assert x.baseline_field.layout.display is None  # shown for a decoder
    # a counterfactual text of another token length: shown, not raised, baseline kept
    x.baseline_field.text.value = "When Alice went"
    assert "same token length" in x.baseline_field.message.value and x.baseline == first
    same = "When Alice and Bob went to the store, Bob gave a drink to"
    x.baseline_field.text.value = same
    assert x.baseline_field.message.value == "" and x.baseline == same
    x.text = "When Mary went"  # the counterfactual no longer fits: said at once
    assert "same token length" in x.baseline_field.message.value


def test_encoder_explorer_keeps_its_baselines(mlm):
    x = Explorer(mlm, steps=STEPS)
    assert "mask" in x.baseline_box.options and x.baseline_field.layout.display == "none"


def test_decoder_explorer_runs_end_to_end_and_exports(llama, tmp_path):
    x = Explorer(llama, steps=STEPS)
    x.baseline = "zero"
    expl = x.run()
    assert x.error == "", x.error
    n = len(expl.tokens)
    assert sorted(w.position for w in expl.words) == list(range(n))  # every position is a source
    assert "Mary" in expl.qoi and expl.readout_position is None
    for kind in ("svg", "html", "json"):
        text = x.export(kind, tmp_path / f"e.{kind}")
        assert (tmp_path / f"e.{kind}").read_text(encoding="utf-8") == text
    assert json.loads(x.export("json"))["tokens"] == expl.tokens
    assert "Mary" in x.export("svg")
    # the SVG places the QoI as the graph does: above the last column, where patterns end
    opts = dict(words=x.graph.selected, level=x.level, palette=x.palette)
    assert x.export("svg") == export_text(dataclasses.replace(expl, readout_position=n - 1), "svg", **opts)
    assert x.export("svg") != export_text(expl, "svg", **opts)


def test_a_decoder_loaded_on_first_use_gets_its_controls():
    x = Explorer("tiny-llama", steps=STEPS)  # loads on the first run (or load())
    assert "mask" in x.baseline_box.options  # nothing known yet
    model = x.load()
    assert x.text == IOI_TEXT and x.qoi_editor.qoi() == NextTokenContrast(" Mary", " John")
    assert list(x.baseline_box.options) == [default_baseline(model), "zero"]
    assert x.graph.decoder is not None and x.graph.decoder.num_kv_heads == model.weights.num_kv_heads
