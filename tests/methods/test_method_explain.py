"""Baselines through explain(method=...): plain WordResults, like GPR's, and bad methods refused."""

import json

import pytest
import torch

from ipyinfluence import Explanation, InputError, TokenContrast, explain, iter_explain
from ipyinfluence.methods import comparison_patterns
from ipyinfluence.metrics import replace_skip
from ipyinfluence.explain import METHODS
from ipyinfluence.results import SKIP


def test_methods_listed():
    assert METHODS == ("gpr", "attention", "conductance", "internal_influence", "random")


@pytest.mark.parametrize("method", ["attention", "conductance", "internal_influence", "random"])
def test_explain_with_a_baseline(mlm, stream, text, method):
    e = explain(mlm, text, TokenContrast("is", "are"), steps=5, method=method, quadrature="paper")  # as the stream
    src = torch.as_tensor(stream.sources)
    emb, att = comparison_patterns(method, mlm, stream.prep, src, level="attention",
                                 readout=stream.bound.readout_position)
    assert e.method == method and e.complete
    for w, word in enumerate(e.words):
        assert word.embedding.method == method and word.attention.method == method
        assert word.total_influence == pytest.approx(float(emb.total[w]), rel=1e-12)
        assert word.embedding.positions == [int(c[w, 0]) for c in emb.chosen]
        assert word.embedding.influence == pytest.approx(float(emb.influence[w]), rel=1e-9, abs=1e-15)
        assert word.attention.influence == pytest.approx(float(att.influence[w]), rel=1e-9, abs=1e-15)
        # the embedding-level influence is the last layer's score at the chosen node, as for GPR
        last = word.embedding.steps[-1]
        assert word.embedding.influence == pytest.approx(last.scores[last.position], rel=1e-12, abs=1e-18)
        for step, prev in zip(word.attention.steps, word.embedding.positions):
            assert step.position == word.embedding.positions[step.layer]
            assert step.source_positions == [prev]
            if step.route == SKIP:
                assert prev == step.position
    back = Explanation.from_json(e.to_json())
    assert json.loads(back.to_json()) == json.loads(e.to_json())


def test_gpr_is_unchanged_by_the_dispatch(mlm, stream, text):
    from ipyinfluence.gpr import embedding_level

    e = explain(mlm, text, TokenContrast("is", "are"), steps=5, level="embedding", quadrature="paper")  # as the stream
    emb = embedding_level(mlm, stream.prep, torch.as_tensor(stream.sources))
    assert e.method == "gpr" and e.words[0].embedding.method == "gpr"
    assert [w.embedding.positions for w in e.words] == [[int(c[w, 0]) for c in emb.chosen]
                                                        for w in range(len(e.words))]


@pytest.mark.parametrize("method", ["nope", "random:x", "conductance:3", "gpr:1", 3])
def test_unknown_methods_are_refused(mlm, text, method):
    with pytest.raises(InputError, match="method"):
        iter_explain(mlm, text, TokenContrast("is", "are"), steps=3, method=method)


def test_top_k_for_per_layer_baselines(mlm, text):
    e = explain(mlm, text, TokenContrast("is", "are"), steps=3, method="conductance", top_k=2)
    for w in e.words:
        assert all(len(s.chosen) == 2 for s in w.embedding.steps[1:])
        assert all(len(s.chosen) == 2 for s in w.attention.steps)


def test_replace_skip_by_hand():
    nodes = {("x", 1), ("h", 0, 1), ("h", 1, 1), ("s", 1, 1), ("h", 2, 4), ("a", 2, 4, 0), ("s", 2, 3)}
    out = replace_skip(nodes, num_heads=3)
    assert out == {("x", 1), ("h", 0, 1), ("h", 1, 1), ("h", 2, 4), ("a", 2, 4, 0),
                   ("a", 1, 1, 0), ("a", 1, 1, 1), ("a", 1, 1, 2), ("a", 2, 3, 0), ("a", 2, 3, 1), ("a", 2, 3, 2)}
    assert not any(n[0] == "s" for n in out)
