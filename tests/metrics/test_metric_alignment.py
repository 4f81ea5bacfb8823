"""Alignment rate by hand, and the attention it reads against Hugging Face's."""

import math

import pytest
import torch

from ipyinfluence import TokenContrast, explain
from ipyinfluence.metrics import alignment_counts, alignment_rate, attention_probabilities

from _hand_results import word


def test_alignment_by_hand():
    # 1 layer, 2 heads, 3 tokens; A[l=1, h, k, j]
    probs = torch.zeros(1, 2, 3, 3)
    probs[0, 0, 1, 0], probs[0, 1, 1, 0] = 0.2, 0.7  # edge 0 -> 1: head 1 is the argmax
    probs[0, 0, 2, 0], probs[0, 1, 2, 0] = 0.6, 0.1  # edge 0 -> 2: head 0 is the argmax
    words = [
        word(0, 1.0, [0, 1], routes=[1]),  # head 1 on 0 -> 1: aligned
        word(0, 1.0, [0, 2], routes=[1]),  # head 1 on 0 -> 2: not aligned
        word(0, 1.0, [0, 2], routes=[0]),  # head 0 on 0 -> 2: aligned
        word(0, 1.0, [0, 0], routes=["skip"]),  # skips are not counted
    ]
    assert alignment_counts(words, probs) == (2, 3)


def test_alignment_rate_on_a_model(mlm):
    text = "the author that the guards like [MASK] happy ."
    probs = attention_probabilities(mlm, text)
    with torch.no_grad():
        hf = mlm.hf_model.bert(input_ids=torch.as_tensor([mlm.encode(text).input_ids]), output_attentions=True)
    torch.testing.assert_close(probs, torch.stack([a[0] for a in hf.attentions]))
    e = explain(mlm, text, TokenContrast("is", "are"), steps=3)
    r = alignment_rate(mlm, e)
    aligned, total = alignment_counts(e.words, probs)
    assert (r.aligned, r.transitions) == (aligned, total)
    heads_taken = sum(s.route != "skip" for w in e.words for s in w.attention.steps)
    assert total == heads_taken
    assert r.chance == pytest.approx(1 / mlm.num_heads)
    assert (math.isnan(r.rate) and total == 0) or r.rate == pytest.approx(aligned / total)
