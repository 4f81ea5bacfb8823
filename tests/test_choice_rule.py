"""results.py's promise, for every method: each step's ``chosen`` are the top_k of the
step's ranking (GPR: σ·score; a baseline method: its own stored criterion), ties to the
lowest position at the embedding level and to the skip at the attention level."""

import math

import pytest
import torch

from ipyinfluence import TokenContrast, explain
from ipyinfluence.explain import METHODS
from ipyinfluence.tiny import tiny_model

TEXT = "the author that the guards like [MASK] happy ."


def _top(values: list[float], k: int) -> list[int]:
    order = sorted(range(len(values)), key=lambda i: (-values[i], i))
    return order[:k]


@pytest.fixture(scope="module")
def model():
    return tiny_model("bert", "masked-lm", seed=3, dtype=torch.float64, layers=3)


# the attention baseline is a single max-product path: top_k=1 only (its refusal is tested elsewhere)
CASES = [(m, k) for m in METHODS for k in (1, 2) if not (m == "attention" and k > 1)]


@pytest.mark.parametrize("method,top_k", CASES)
def test_every_choice_is_the_top_of_its_ranking(model, method, top_k, one_torch_thread):
    e = explain(model, TEXT, TokenContrast("is", "are"), steps=5, method=method, top_k=top_k)
    checked = 0
    for w in e.words:
        for step in w.embedding.steps[1:]:
            ranking = step.ranking(w.sign)
            assert (step.criterion is None) == (method == "gpr")
            assert step.chosen == _top(ranking, top_k), (method, w.token, step.layer)
            checked += 1
        for step in w.attention.steps:
            cands = step.candidates
            # candidate order is (position, route) with the skip first at each position
            ranking = [c.ranking(w.sign) for c in cands]
            best = [cands[i] for i in _top(ranking, top_k)]
            assert [(c.position, c.route) for c in step.chosen] == [(c.position, c.route) for c in best]
            checked += 1
    assert checked == len(e.words) * 2 * model.num_layers


def test_criterion_survives_json(model, one_torch_thread):
    from ipyinfluence import Explanation

    e = explain(model, TEXT, TokenContrast("is", "are"), steps=3, method="conductance")
    back = Explanation.from_json(e.to_json())
    assert back == e
    assert back.words[0].embedding.steps[1].criterion is not None
    assert back.words[0].attention.steps[0].candidates[0].criterion is not None
