"""Issue 9.10 for the widget (``hypothesis``): any sequence of trait assignments on the
Explorer followed by a run either gives a complete, finite Explanation or shows an error
message while keeping the earlier result; nothing raises out of ``run`` and no string
becomes markup. An assignment itself may only be refused by trait validation."""

from __future__ import annotations

import math

import traitlets
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_widgets_escaping import assert_no_markup_injected

from ipyinfluence import TokenContrast
from ipyinfluence.errors import InfluenceError
from ipyinfluence.results import Explanation
from ipyinfluence.widgets import Explorer


def mostly(valid, invalid):
    return st.integers(0, 4).flatmap(lambda i: invalid if i == 4 else valid)


TRAITS = {
    "text": mostly(st.sampled_from(["the guards [MASK] happy .", "the author [MASK] here !", "a [MASK] b"]),
                   st.one_of(st.text(max_size=12), st.sampled_from(["", "[MASK] [MASK]", "<img src=x onerror=alert(1)>",
                                                                    " ".join(["the"] * 80) + " [MASK]", None, 5]))),
    "steps": mostly(st.integers(2, 4), st.sampled_from([1, 0, -3, 10**7, 2.5, "3", None])),
    "top_k": mostly(st.integers(1, 3), st.sampled_from([0, -1, 10**6, 1.5, None])),
    "baseline": mostly(st.sampled_from(["mask", "zero", "pad"]), st.sampled_from(["foo", "", None, 3, "[UNK]"])),
    "method": mostly(st.sampled_from(["gpr", "random", "conductance"]), st.sampled_from(["nope", "random:x", None])),
    "level": mostly(st.sampled_from(["attention", "embedding"]), st.sampled_from(["foo", "", None])),
    "palette": mostly(st.sampled_from(["paper", "colorblind"]), st.sampled_from(["nope", None])),
}


def finite(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    if isinstance(value, list):
        return all(finite(v) for v in value)
    return True


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.sampled_from(sorted(TRAITS)).flatmap(lambda k: st.tuples(st.just(k), TRAITS[k])),
                        max_size=4))
def test_any_traits_then_run_gives_a_result_or_a_message(mlm, changes):
    x = Explorer(mlm, text="the guards [MASK] happy .", qoi=TokenContrast("is", "are"), steps=3)
    x.run()
    for name, value in changes:
        try:
            setattr(x, name, value)
        except (traitlets.TraitError, InfluenceError):
            event(f"assignment refused: {name}")
    before = x.explanation
    result = x.run()  # must not raise
    assert not x.running
    if x.error:
        event("error shown")
        assert x.explanation is before and x.error.strip()
    else:
        event("explained")
        assert isinstance(result, Explanation) and result is x.explanation and result.complete
        assert finite(result.to_dict()) and "Done" in x.status
        assert result.steps == x.steps and result.level == x.level and result.method == x.method
    assert_no_markup_injected(x)
