"""Issue 16.16: a layer number is 1..L; 0, negatives (Python's from-the-end indices) and
numbers past L are an InputError naming the valid range."""

import pytest

from ipyinfluence import InputError
from ipyinfluence.results import (AttentionPattern, AttentionStep, EmbeddingPattern, EmbeddingStep, Explanation,
                                  RouteCandidate, WordResult)
from ipyinfluence.study import SentenceInstance, aggregate, sentences_through
from ipyinfluence.validation import check_layer

TOKENS = ["[CLS]", "the", "author", "[MASK]", ".", "[SEP]"]
ROLES = ("[CLS]", "the", "subject", "[MASK]", ".", "[SEP]")


def one_sentence():
    """Two layers; the subject's pattern takes head 1 into layer 2 (the last layer): the one
    that layer=0 and layer=-1 used to read."""
    n = len(TOKENS)
    steps = [EmbeddingStep(l, [p], [0.0] * n) for l, p in enumerate([2, 2, 3])]
    att = [AttentionStep(1, [2], [RouteCandidate(2, "skip", 0.1)], [RouteCandidate(2, "skip", 0.1)]),
           AttentionStep(2, [2], [RouteCandidate(3, 1, 0.1)], [RouteCandidate(3, 1, 0.1)])]
    word = WordResult(2, "author", 0.5, 1, EmbeddingPattern(steps, 0.2), AttentionPattern(att, 0.1))
    e = Explanation(text="the author [MASK] .", tokens=TOKENS, model="hand", qoi="q", q_input=1.0, q_baseline=0.0,
                    steps=3, baseline="mask", level="attention", top_k=1, num_layers=2, num_heads=2,
                    sources=[0, 1, 2, 4, 5], readout_position=3, words=[word])
    return [SentenceInstance("s0", ROLES, {"subject": "author"}, {"subject": "sing"}, "sing")], {0: e}


@pytest.mark.parametrize("layer", [0, -1, -2, 3, 99, 1.0, True, "2"])
def test_sentences_through_refuses_a_layer_outside_1_to_L(layer):
    instances, explanations = one_sentence()
    with pytest.raises(InputError, match=r"layer must be a transformer layer, 1\.\.2"):
        sentences_through(instances, explanations, "subject", layer, 1)


def test_sentences_through_layers_1_to_L_still_work():
    instances, explanations = one_sentence()
    assert sentences_through(instances, explanations, "subject", 2, 1) == [0]
    assert sentences_through(instances, explanations, "subject", 1, "skip") == [0]
    assert sentences_through(instances, explanations, "subject", 1, 1) == []


@pytest.mark.parametrize("layer", [0, -1, 3])
def test_route_share_refuses_a_layer_outside_1_to_L(layer):
    instances, explanations = one_sentence()
    role = aggregate(instances, explanations).groups["all"]["subject"]
    assert role.route_share(2, 1) == 1.0
    with pytest.raises(InputError, match=r"1\.\.2"):
        role.route_share(layer, 1)


def test_check_layer_without_a_known_count_still_refuses_0_and_negatives():
    assert check_layer(7, None) == 7
    for bad in (0, -3):
        with pytest.raises(InputError, match="1..L"):
            check_layer(bad, None)
