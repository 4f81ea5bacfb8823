"""Concentration by hand."""

import math

import pytest

from ipyinfluence.metrics import concentration

from _hand_results import word


def test_concentration_by_hand():
    words = [
        word(1, 2.0, [1, 1, 3], influence=1.0, routes=["skip", 0], attention_influence=0.5),  # 0.5 / 0.25
        word(2, 4.0, [2, 2, 3], influence=3.0, routes=["skip", 1], attention_influence=2.0),  # 0.75 / 0.5
        word(0, -1.0, [0, 0, 3], influence=-0.5, routes=["skip", 1], attention_influence=0.25),  # 0.5 / -0.25
        word(3, 0.0, [3, 3, 3], influence=0.7, routes=["skip", "skip"]),  # g = 0: no ratio
    ]
    c = concentration(words)
    assert (c.n_positive, c.n_negative) == (2, 1)
    assert c.positive == pytest.approx((0.5 + 0.75) / 2)
    assert c.negative == pytest.approx(0.5)
    a = concentration(words, "attention")
    assert a.positive == pytest.approx((0.25 + 0.5) / 2)
    assert a.negative == pytest.approx(-0.25)
    only_positive = concentration(words[:2])
    assert math.isnan(only_positive.negative) and only_positive.n_negative == 0
    with pytest.raises(ValueError, match="attention"):
        concentration([word(1, 1.0, [1, 1, 3])], "attention")
