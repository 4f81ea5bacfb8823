"""Progressive mode: previews first, and a final stage identical to a direct run."""

import pytest

from ipyinfluence import TokenContrast, explain
from ipyinfluence.errors import QoIError
from ipyinfluence.progressive import iter_progressive
from ipyinfluence.tiny import tiny_model

TEXT = "the author that the guards like [MASK] happy ."


def test_preview_then_final_identical_to_direct_run():
    m = tiny_model(seed=4)
    updates = list(iter_progressive(m, TEXT, TokenContrast("is", "are"), steps=21, preview_steps=3, max_batch=21))
    stages = [u.stage for u in updates]
    n = len(updates) // 2
    assert stages == ["preview"] * n + ["final"] * n
    assert updates[0].explanation.steps == 3 and updates[-1].explanation.steps == 21
    direct = explain(m, TEXT, TokenContrast("is", "are"), steps=21, max_batch=21)
    assert updates[-1].explanation == direct  # exactly, including every score


def test_bad_input_fails_before_the_first_update():
    m = tiny_model(seed=4)
    with pytest.raises(QoIError):
        next(iter_progressive(m, "no mask here .", TokenContrast("is", "are")))
