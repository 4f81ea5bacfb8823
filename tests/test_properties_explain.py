"""Issue 9.10: property-based tests of the public API (``hypothesis``).

Random texts (unicode, empty, long), QoIs (built-in with odd arguments, and hostile
callables), steps, top_k, sources, baselines, methods and levels, on tiny models of every
family and head. The property: either a valid :class:`Explanation` comes back (every number
finite; the SPEC §3 layer-sum and route-sum identities hold; the JSON round trip is exact
and the JSON is strict, no bare NaN) or an ``ipyinfluence`` error with a message is raised;
never another exception.
"""

from __future__ import annotations

import functools
import json
import math

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ipyinfluence import ClassContrast, ClassLogit, EmbeddingSimilarity, Explanation, TokenContrast, explain
from ipyinfluence.errors import InfluenceError

FAMILIES = ("bert", "roberta", "electra", "distilbert", "albert")
TASKS = ("masked-lm", "classification", "encoder")
WORDS = ["the", "guards", "author", "is", "are", "happy", "movie", "good", "not", "[MASK]", "[CLS]", ".", ",",
         "unbelievably", "ünïcödé", "日本", "🙂", "", " ", "\t", "<b>x</b>", "[SEP]", "[PAD]", "[UNK]"]
FLOOR = 1.0  # set per explanation by check_identities
SETTINGS = settings(max_examples=70, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    pass


@functools.lru_cache(maxsize=None)
def model(family: str, task: str):
    from ipyinfluence.tiny import tiny_model

    return tiny_model(family, task, seed=1, hidden=16, heads=2, intermediate=20, max_positions=24)


def _nan_at_step(out):
    q = out.last_hidden_state[:, 1].sum(-1)
    return torch.where(torch.arange(q.shape[0]) == 1, q * float("nan"), q)


def _raises(out):
    raise ZeroDivisionError("hostile callable")


CALLABLES = [
    lambda out: out.last_hidden_state[:, 0].sum(-1),  # a valid one
    lambda out: out.last_hidden_state[:, 1, 0],  # valid too
    _nan_at_step, _raises,
    lambda out: out.last_hidden_state[:1, 0, 0],  # a slice of the batch
    lambda out: out.last_hidden_state[:, 0, 0].detach(),
    lambda out: float(out.last_hidden_state[0, 0, 0]),
    lambda out: [1.0] * out.last_hidden_state.shape[0],
    lambda out: torch.ones(out.last_hidden_state.shape[0]),
    lambda out: out.last_hidden_state[:, 0, 0] / 0.0,  # inf
    lambda out: torch.log(out.last_hidden_state[:, 0, 0] * 0),  # -inf
    lambda out: out.logits[:, 0] if out.logits is not None and out.logits.dim() == 2 else out.logits,
    lambda out: None,
]

texts = st.one_of(
    st.lists(st.sampled_from(WORDS), min_size=0, max_size=12).map(" ".join),
    st.text(max_size=20),
    st.sampled_from(["the guards [MASK] happy .", "the movie was not good .", "", "   ",
                     " ".join(["the guards"] * 20) + " [MASK] ."]),  # longer than the model's 24 positions
)
words = st.one_of(st.sampled_from(["is", "are", "the", "unbelievably", "[MASK]", "", "日本"]), st.text(max_size=4),
                  st.none(), st.integers(-3, 3))
indices = st.one_of(st.integers(-3, 4), st.sampled_from(["negative", "positive", "POSITIVE", "nope"]),
                    st.floats(allow_nan=True), st.none(), st.booleans())
vectors = st.one_of(st.lists(st.floats(width=32), min_size=0, max_size=17),
                    st.lists(st.floats(-1, 1, width=32), min_size=16, max_size=16))


def qois():
    return st.one_of(
        st.builds(lambda g, b, p: (TokenContrast, (g, b, p)), words, words,
                  st.one_of(st.none(), st.integers(-30, 30), st.floats(), st.booleans())),
        st.builds(lambda a, b: (ClassContrast, (a, b)), indices, indices),
        st.builds(lambda c: (ClassLogit, (c,)), indices),
        st.builds(lambda r: (EmbeddingSimilarity, (r,)), st.one_of(texts, vectors, st.none(), st.integers())),
        st.sampled_from(CALLABLES).map(lambda f: (None, f)),
        st.sampled_from([None, 3, "nope", object()]).map(lambda q: (None, q)),
    )


sources = st.one_of(st.none(), st.integers(-8, 8), st.lists(st.integers(-8, 8), max_size=4),
                    st.sampled_from(["the", "guards", "nope", 1.0, (1, 2), [0.5], [True], {1: 2}, []]))
baselines = st.sampled_from(["mask", "pad", "zero", "mask-keep-special", "[UNK]", "the", "unbelievably", "nope",
                             0, 5, -1, 10**9, 1.5, None, True])
methods = st.sampled_from(["gpr", "gpr", "gpr", "attention", "conductance", "internal_influence", "random",
                           "random:3", "random:x", "random:" + str(2**70), "nope", None])


def finite_numbers(value, where="explanation"):
    if isinstance(value, float):
        assert math.isfinite(value), f"non-finite number at {where}"
    elif isinstance(value, dict):
        for k, v in value.items():
            finite_numbers(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            finite_numbers(v, f"{where}[{i}]")


def close(a: float, b: float, scale: float) -> bool:
    """Equal up to float32 rounding: relative to the word's largest score, with a floor at
    float32 noise of the QoI's own size (a QoI nearly flat in the input has scores ~1e-8)."""
    return math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-5 * scale + 1e-6 * FLOOR)


def check_identities(e: Explanation) -> None:
    """SPEC §3 on what the Explanation stores (GPR): the layer sum at the embedding level and
    the route sum at the attention level, layer by layer, ending in the pattern's influence."""
    global FLOOR
    FLOOR = max(1.0, abs(e.q_input), abs(e.q_baseline))
    for w in e.words:
        steps = w.embedding.steps
        scale = max([abs(s) for st_ in steps for s in st_.scores] + [abs(w.total_influence)])
        assert steps[0].chosen == [w.position] and close(steps[0].scores[w.position], w.total_influence, scale)
        for prev, cur in zip(steps, steps[1:]):
            assert close(sum(cur.scores), sum(prev.scores[c] for c in prev.chosen), scale), (w.position, cur.layer)
        assert close(w.embedding.influence, sum(steps[-1].scores[c] for c in steps[-1].chosen), scale)
        if w.attention is not None:
            a = w.attention.steps
            inflow = w.embedding.influence
            for s in a:
                assert close(sum(c.score for c in s.candidates), inflow, scale), (w.position, s.layer)
                inflow = sum(c.score for c in s.chosen)
            assert close(w.attention.influence, inflow, scale)
        assert w.sign == (1 if w.total_influence >= 0 else -1)


def check_explanation(e: Explanation) -> None:
    assert isinstance(e, Explanation) and e.complete
    data = e.to_dict()
    finite_numbers(data)
    text = json.dumps(data, allow_nan=False)  # strict JSON: no bare NaN / Infinity
    back = Explanation.from_json(text)
    assert back == e and back.to_json() == e.to_json()
    if e.method == "gpr":
        check_identities(e)


def mostly(valid, invalid):
    """``valid`` five times in six, else ``invalid``: most cases get far enough to explain."""
    return st.integers(0, 5).flatmap(lambda i: invalid if i == 5 else valid)


VALID_TEXT = st.lists(st.sampled_from(["the", "guards", "movie", "is", "good", "not", ".", "happy", "日本", "!", "é"]),
                      min_size=0, max_size=8).map(" ".join)


@st.composite
def cases(draw):
    family, task = draw(st.sampled_from(FAMILIES)), draw(st.sampled_from(TASKS))
    text = draw(mostly(VALID_TEXT, texts))
    if task == "masked-lm":
        text = draw(mostly(st.just(text + " [MASK] ."), st.just(text)))
        valid_qoi = st.builds(lambda g, b: (TokenContrast, (g, b)), st.sampled_from(["is", "are", "the", "."]),
                              st.sampled_from(["are", "is", "good"]))
    elif task == "classification":
        valid_qoi = st.builds(lambda a, b: (ClassContrast, (a, b)), st.sampled_from([0, 1, "positive"]),
                              st.sampled_from([1, 0, "negative"]))
    else:
        valid_qoi = st.builds(lambda r: (EmbeddingSimilarity, (r,)), st.one_of(
            VALID_TEXT.filter(lambda t: t.strip()), st.lists(st.floats(-1, 1, width=32), min_size=16, max_size=16)))
    return dict(
        family=family, task=task, text=text, qoi=draw(mostly(st.one_of(valid_qoi, st.sampled_from(CALLABLES[:2])
                                                                           .map(lambda f: (None, f))), qois())),
        steps=draw(mostly(st.integers(2, 5), st.one_of(st.integers(-1, 1), st.sampled_from([10**7, 2.5, "3", None, True])))),
        top_k=draw(mostly(st.integers(1, 3), st.sampled_from([0, -1, 0.5, None, 100]))),
        sources=draw(mostly(st.one_of(st.none(), st.lists(st.integers(0, 3), min_size=1, max_size=3)), sources)),
        baseline=draw(mostly(st.sampled_from(["mask", "pad", "zero", "mask-keep-special", "[UNK]"]), baselines)),
        method=draw(mostly(st.sampled_from(["gpr", "gpr", "attention", "conductance", "internal_influence",
                                            "random", "random:3"]), methods)),
        level=draw(mostly(st.sampled_from(["attention", "embedding"]), st.sampled_from(["nope", None, 1]))),
    )


@SETTINGS
@given(case=cases())
def test_explain_gives_a_valid_explanation_or_an_influence_error(case):
    m = model(case.pop("family"), case.pop("task"))
    try:
        cls, args = case.pop("qoi")
        q = args if cls is None else cls(*args)
        e = explain(m, case.pop("text"), q, **case)
    except InfluenceError as err:
        assert str(err).strip(), "an error without a message"
        event(f"refused: {type(err).__name__}: {str(err)[:40]}")
        return
    event(f"explained ({e.method}, {e.level})")
    check_explanation(e)


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(family=st.sampled_from(FAMILIES), task=st.sampled_from(TASKS),
       text=st.lists(st.sampled_from(["the", "guards", "movie", "is", "good", "not", ".", "happy", "日本", "!"]),
                     min_size=1, max_size=8).map(" ".join),
       steps=st.integers(2, 5), top_k=st.integers(1, 3), level=st.sampled_from(["attention", "embedding"]))
def test_valid_input_always_gives_a_valid_explanation(family, task, text, steps, top_k, level):
    """On well-formed input the answer is an Explanation (the identities hold), not an error."""
    m = model(family, task)
    if task == "masked-lm":
        text, qoi = text + " [MASK] .", TokenContrast("is", "are")
    elif task == "classification":
        qoi = ClassContrast("positive", "negative")
    else:
        qoi = EmbeddingSimilarity("the movie is good .")
    check_explanation(explain(m, text, qoi, steps=steps, top_k=top_k, level=level))
