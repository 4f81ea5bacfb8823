"""Issue 16.2 and 16.11: ``Explanation.from_json`` checks one schema, the one ``to_json`` writes.

Every valid explanation (real ones from tiny models, every method and level) round-trips
exactly; every damaged field is an InputError that names it; nothing else escapes (no
RecursionError, no TypeError, no minutes of drawing for a forged ``num_layers``).
"""

from __future__ import annotations

import copy
import functools
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipyinfluence import ClassContrast, InputError, TokenContrast, explain
from ipyinfluence.results import Explanation
from ipyinfluence.result_schema import MAX_HEADS, MAX_LAYERS, MAX_TOKENS

TEXT = "the author [MASK] happy ."


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    pass


@functools.lru_cache(maxsize=None)
def model(family: str = "bert", task: str = "masked-lm"):
    from ipyinfluence.tiny import tiny_model

    return tiny_model(family, task, seed=1, hidden=16, heads=2, intermediate=20, max_positions=24)


@functools.lru_cache(maxsize=None)
def valid(level: str = "attention", method: str = "gpr", top_k: int = 1) -> str:
    return explain(model(), TEXT, TokenContrast("is", "are"), steps=3, level=level, method=method,
                   top_k=top_k).to_json()


def doc(**kw) -> dict:
    return json.loads(valid(**kw))


def refused(data, field: str) -> InputError:
    with pytest.raises(InputError) as info:
        Explanation.from_dict(data)
    assert field in str(info.value), str(info.value)
    assert str(info.value).startswith("not an Explanation:")
    return info.value


# -- every valid explanation comes back exactly ----------------------------------------------------

@pytest.mark.parametrize("level", ["embedding", "attention"])
@pytest.mark.parametrize("method,top_k", [("gpr", 1), ("gpr", 3), ("attention", 1), ("conductance", 2),
                                          ("internal_influence", 1), ("random:7", 2)])
def test_real_explanations_round_trip_exactly(level, method, top_k):
    text = valid(level, method, top_k)
    back = Explanation.from_json(text)
    assert back.to_json() == text
    assert back == Explanation.from_json(text.encode())


WORDS = ["the", "guards", "author", "is", "are", "happy", ".", "日本", "🙂", "<b>"]


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(family=st.sampled_from(["bert", "roberta", "electra"]), task=st.sampled_from(["masked-lm", "classification"]),
       words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=6), level=st.sampled_from(["embedding", "attention"]),
       method=st.sampled_from(["gpr", "attention", "conductance", "random:3"]), top_k=st.integers(1, 3),
       rule=st.sampled_from([(2, "paper"), (4, "paper"), (1, "gauss-legendre"), (3, "gauss-legendre"), ("auto", None)]),
       data=st.data())
def test_random_valid_explanations_round_trip_exactly(family, task, words, level, method, top_k, rule, data):
    m = model(family, task)
    if task == "masked-lm":
        words = words + ["[MASK]"]
    text = " ".join(w.replace("[MASK]", m.mask_token) for w in words)
    qoi = TokenContrast("is", "are") if task == "masked-lm" else ClassContrast(1, 0)
    top_k = 1 if method == "attention" else top_k
    steps, quadrature = rule
    e = explain(m, text, qoi, steps=steps, quadrature=quadrature, level=level, method=method, top_k=top_k,
                sources=None if data.draw(st.booleans()) else [1])
    text = e.to_json()
    back = Explanation.from_json(text)
    assert back == e and back.to_json() == text


# -- damaged fields are refused by name -------------------------------------------------------------

def _set(path):
    def change(d, value):
        *head, last = path
        for k in head:
            d = d[k]
        d[last] = value
    return change


CASES = [  # (path, value, words in the message)
    (("tokens",), 5, "tokens must be a list"),
    (("tokens",), [], "tokens must be a list of 1..10000"),
    (("tokens", 1), 7, "tokens[1] must be a string"),
    (("text",), None, "text must be a string"),
    (("q_input",), "abc", "q_input must be a finite number"),
    (("q_input",), float("nan"), "q_input must be a finite number"),
    (("q_baseline",), float("inf"), "q_baseline must be a finite number"),
    (("q_input",), True, "q_input must be a finite number"),
    (("q_input",), 10**400, "q_input must be a finite number"),
    (("steps",), -5, "steps must be a whole number 1..1024"),  # the fixture's rule: Gauss–Legendre (the default)
    (("steps",), 0, "steps must be a whole number 1..1024"),
    (("steps",), 1025, "steps must be a whole number 1..1024"),
    (("steps",), 3.0, "steps must be a whole number"),
    (("num_heads",), 0, "num_heads must be a whole number 1..10000"),
    (("num_layers",), 10**18, "num_layers must be a whole number 1..1000"),
    (("num_layers",), "2", "num_layers must be a whole number"),
    (("top_k",), 0, "top_k must be a whole number >= 1"),
    (("level",), "evil", "level must be one of ('embedding', 'attention')"),
    (("method",), "evil", "method must be 'gpr'"),
    (("quadrature",), "simpson", "quadrature must be one of"),
    (("readout_position",), 999, "readout_position must be a token position 0..6"),
    (("sources",), [0, 0], "sources must be distinct positions"),
    (("sources",), [-3], "sources[0] must be a token position"),
    (("sources",), [3], "sources must be positions other than the readout position 3"),
    (("config",), [1], "config must be an object"),
    (("words",), None, "words must be a list"),
    (("words", 0, "position"), 999, "words[0].position must be a token position 0..6"),
    (("words", 0, "position"), -3, "words[0].position must be a token position"),
    (("words", 0, "position"), 1.9, "words[0].position must be a token position"),
    (("words", 0, "sign"), 7, "words[0].sign must be 1"),
    (("words", 0, "sign"), -1, "words[0].sign must be 1"),
    (("words", 0, "token"), "evil", "words[0].token must be '[CLS]'"),
    (("words", 0, "total_influence"), None, "words[0].total_influence must be a finite number"),
    (("words", 0, "embedding", "steps"), [], "words[0].embedding.steps must be a list of 3"),
    (("words", 0, "embedding", "steps", 1, "layer"), 5, "words[0].embedding.steps[1].layer must be 1"),
    (("words", 0, "embedding", "steps", 1, "chosen"), [999], "steps[1].chosen[0] must be a token position"),
    (("words", 0, "embedding", "steps", 1, "chosen"), [], "steps[1].chosen must be a list of 1..1"),
    (("words", 0, "embedding", "steps", 0, "chosen"), [2], "steps[0].chosen must be [0]"),
    (("words", 0, "embedding", "steps", 1, "scores"), [0.0], "steps[1].scores must be a list of 7"),
    (("words", 0, "embedding", "steps", 1, "scores", 2), "x", "steps[1].scores[2] must be a finite number"),
    (("words", 0, "embedding", "influence"), [], "embedding.influence must be a finite number"),
    (("words", 0, "attention", "steps", 0, "chosen", 0, "route"), 99, "route must be 'skip' or a head 0..1"),
    (("words", 0, "attention", "steps", 0, "chosen", 0, "route"), "evil", "route must be 'skip' or a head"),
    (("words", 0, "attention", "steps", 0, "chosen"), [], "attention.steps[0].chosen must be a list of 1..1"),
    (("words", 0, "attention", "steps", 0, "source_positions"), [5], "source_positions must be [0]"),
    (("words", 0, "attention", "steps", 1, "layer"), 1, "attention.steps[1].layer must be 2"),
    (("words", 0, "attention", "steps"), [], "attention.steps must be a list of 2"),
]


@pytest.mark.parametrize("path,value,message", CASES, ids=[".".join(map(str, c[0])) + "=" + repr(c[1])[:20]
                                                          for c in CASES])
def test_a_damaged_field_is_refused_by_name(path, value, message):
    d = doc()
    _set(path)(d, value)
    refused(d, message)


def test_duplicated_words_are_refused():
    d = doc()
    d["words"].append(copy.deepcopy(d["words"][0]))
    d["words"] = d["words"][:len(d["sources"])]
    d["words"][1] = copy.deepcopy(d["words"][0])
    refused(d, "words[1].position must be a position no other word has")


def test_a_word_that_is_not_a_source_is_refused():
    d = doc()
    d["sources"] = [s for s in d["sources"] if s != d["words"][0]["position"]]
    d["words"] = d["words"][:len(d["sources"])]
    refused(d, "words[0].position must be one of the sources")


def test_a_chosen_route_outside_the_candidates_is_refused():
    d = doc()
    step = d["words"][0]["attention"]["steps"][0]
    step["candidates"] = [c for c in step["candidates"] if c != step["chosen"][0]]
    refused(d, "attention.steps[0].chosen must be routes among the candidates")


def test_missing_and_unknown_keys_are_named():
    d = doc()
    del d["num_heads"]
    refused(d, "num_heads")
    d = doc()
    d["evil"] = 1
    refused(d, "unknown keys ['evil']")


def test_non_finite_json_constants_are_refused_by_field():
    text = valid().replace('"q_input": ', '"q_input": NaN, "x": ', 1)
    with pytest.raises(InputError, match="q_input must be a finite number|unknown keys"):
        Explanation.from_json(text)
    d = doc()
    text = json.dumps({**d, "q_baseline": float("inf")})  # json.dumps writes Infinity
    with pytest.raises(InputError, match="q_baseline must be a finite number; got inf"):
        Explanation.from_json(text)


@pytest.mark.parametrize("depth", [50, 100_000])
def test_deeply_nested_json_is_an_input_error(depth):
    with pytest.raises(InputError):
        Explanation.from_json("[" * depth + "]" * depth)
    d = doc()
    d["config"]["deep"] = json.loads("[" * 40 + "]" * 40)
    refused(d, "config.deep")


def test_forged_sizes_are_refused_at_once():
    """num_layers = 10**18 used to load, then drawing ran for minutes."""
    d = doc()
    d.update(num_layers=10**18, words=[])
    start = time.perf_counter()
    refused(d, "num_layers must be a whole number 1..1000")
    assert time.perf_counter() - start < 1.0
    for key, bound in (("num_heads", MAX_HEADS), ("num_layers", MAX_LAYERS)):
        d = doc()
        d.update({key: bound + 1, "words": []})
        refused(d, key)
    d = doc()
    d.update(tokens=["x"] * (MAX_TOKENS + 1), words=[])
    refused(d, "tokens must be a list of 1..10000")


@pytest.mark.parametrize("value", [None, 5, "x", [], b"{}"])
def test_not_an_object_or_not_json(value):
    with pytest.raises(InputError, match="not an Explanation|not Explanation JSON"):
        Explanation.from_json(value) if not isinstance(value, (list, type(None))) else Explanation.from_dict(value)


LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                   st.text(max_size=5), st.lists(st.integers(-3, 9), max_size=3), st.just({}))


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, path + (i,))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(data=st.data())
def test_any_one_damaged_value_is_refused_or_still_round_trips(data):
    """Property: replace any one value of a real explanation by any JSON value; from_dict
    either refuses it with an InputError or gives an explanation that round-trips (never
    another exception)."""
    d = doc(level="attention", method="conductance", top_k=2)
    paths = [p for p in _paths(d) if p]
    path = data.draw(st.sampled_from(paths))
    _set(path)(d, data.draw(LEAVES))
    try:
        e = Explanation.from_dict(copy.deepcopy(d))
    except InputError:
        return
    assert Explanation.from_json(e.to_json()) == e


def test_the_schema_names_agree_with_the_engine():
    """results stays torch-free, so the schema keeps its own copy of these names."""
    from ipyinfluence import result_schema
    from ipyinfluence.methods import COMPARISON_METHOD_NAMES
    from ipyinfluence.quadrature import MAX_GAUSS_LEGENDRE, QUADRATURES

    assert result_schema.QUADRATURE_NAMES == QUADRATURES
    assert result_schema.MAX_GAUSS_LEGENDRE_STEPS == MAX_GAUSS_LEGENDRE
    assert result_schema.COMPARISON_NAMES == COMPARISON_METHOD_NAMES
    for name in COMPARISON_METHOD_NAMES + ("gpr", "random:12"):
        assert result_schema._METHOD.fullmatch(name)
