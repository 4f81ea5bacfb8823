"""The one schema of an Explanation's JSON: exactly what :meth:`Explanation.to_json` writes.

:meth:`Explanation.from_dict` / ``from_json`` check a document against it before building
anything, so a hand-edited or hostile file is refused with an :class:`InputError` that
names the field (``words[2].embedding.steps[1].chosen[0]``), instead of loading and
crashing a widget later, or making it loop for minutes (issue 16.2, 16.11). No torch:
results stay importable without it.

What the engine writes, and so what is accepted:

* header: ``text``, ``model``, ``qoi``, ``baseline`` strings; ``tokens`` a list of 1 to
  :data:`MAX_TOKENS` strings (N of them); ``q_input``, ``q_baseline`` finite numbers (JSON
  has no NaN or infinity and ``to_json`` never writes them); ``steps`` a whole number
  >= 1 (>= 2 for the paper's rule, <= 1024 for Gauss–Legendre); ``level`` one of
  :data:`~ipyinfluence.results.LEVELS`; ``top_k`` >= 1; ``num_layers`` 1 to
  :data:`MAX_LAYERS`; ``num_heads`` 1 to :data:`MAX_HEADS`; ``sources`` distinct positions
  0..N-1, never the ``readout_position`` (``null`` or a position); ``method`` "gpr", a
  comparison method or "random:SEED"; ``quadrature`` "paper" or "gauss-legendre";
  ``config`` an object of JSON values nested at most :data:`MAX_CONFIG_DEPTH` deep.
* each word: a source ``position`` (no two words share one) whose ``token`` is
  ``tokens[position]``; ``total_influence`` g_i finite; ``sign`` +1 when g_i >= 0, else -1;
  ``embedding.steps`` one per layer 0..L, each with ``chosen`` 1..top_k distinct positions
  (layer 0: the word's own), ``scores`` N finite numbers, ``criterion`` null or N numbers
  or nulls (null: a node the method could not reach); ``attention`` null or (the engine
  writes one exactly at the attention level) one step per layer 1..L whose ``source_positions`` are the previous
  layer's kept positions, sorted, and whose ``chosen`` (1..top_k) are among its
  ``candidates`` (distinct (position, route) pairs; a route is "skip" or a head 0..A-1).

The bounds are far above any model the engine can explain (BERT-large: 24 layers, 16
heads, 512 tokens); they exist so that a forged ``num_layers = 10**18`` is refused instead
of driving a drawing loop.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .errors import InputError

MAX_TOKENS = 10_000
MAX_LAYERS = 1_000
MAX_HEADS = 10_000
MAX_CONFIG_DEPTH = 16
QUADRATURE_NAMES = ("paper", "gauss-legendre")  # ipyinfluence.quadrature.QUADRATURES (a test keeps them equal)
MAX_GAUSS_LEGENDRE_STEPS = 1024  # ipyinfluence.quadrature.MAX_GAUSS_LEGENDRE
COMPARISON_NAMES = ("attention", "conductance", "internal_influence", "random")  # ipyinfluence.methods' names
_METHOD = re.compile(r"gpr|attention|conductance|internal_influence|random(:\d{1,10})?")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


def _fail(path: str, wanted: str, value: Any) -> None:
    raise InputError(f"not an Explanation: {path} must be {wanted}; got {_shown(value)}.")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int(path: str, v: Any, lo: int, hi: int | None = None, wanted: str | None = None) -> int:
    if not _is_int(v) or v < lo or (hi is not None and v > hi):
        _fail(path, wanted or (f"a whole number {lo}..{hi}" if hi is not None else f"a whole number >= {lo}"), v)
    return v


def _number(path: str, v: Any) -> float:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool)
    try:
        ok = ok and math.isfinite(float(v))
    except OverflowError:  # an int past float's range
        ok = False
    if not ok:
        _fail(path, "a finite number", v)
    return v


def _str(path: str, v: Any) -> str:
    if not isinstance(v, str):
        _fail(path, "a string", v)
    return v


def _list(path: str, v: Any, length: int | None = None, lo: int = 0, hi: int | None = None) -> list:
    if not isinstance(v, list):
        _fail(path, "a list", v)
    if length is not None and len(v) != length:
        _fail(path, f"a list of {length}", f"a list of {len(v)}")
    if len(v) < lo or (hi is not None and len(v) > hi):
        _fail(path, f"a list of {lo}..{hi} entries" if hi is not None else f"a list of at least {lo}",
              f"a list of {len(v)}")
    return v


def _object(path: str, v: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
    if not isinstance(v, dict):
        _fail(path, "an object", v)
    missing = [k for k in required if k not in v]
    unknown = [k for k in v if k not in required and k not in optional]
    if missing:
        _fail(path, f"an object with {missing}", f"one without them (keys {sorted(map(str, v))[:12]})")
    if unknown:
        _fail(path, f"an object with only the keys {list(required + optional)}", f"unknown keys {unknown[:12]}")
    return v


def _json_value(path: str, v: Any, depth: int) -> None:
    """Plain JSON, finite numbers, at most MAX_CONFIG_DEPTH deep (iteration would otherwise
    recurse as deep as the document)."""
    if depth > MAX_CONFIG_DEPTH:
        _fail(path, f"nested at most {MAX_CONFIG_DEPTH} deep", "deeper nesting")
    if v is None or isinstance(v, (str, bool)):
        return
    if isinstance(v, (int, float)):
        _number(path, v)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            _json_value(f"{path}[{i}]", x, depth + 1)
    elif isinstance(v, dict):
        for k, x in v.items():
            if not isinstance(k, str):
                _fail(path, "an object with string keys", k)
            _json_value(f"{path}.{k}", x, depth + 1)
    else:
        _fail(path, "a JSON value", v)


class _Shape:
    """What every word of one explanation must agree with."""

    def __init__(self, n: int, layers: int, heads: int, top_k: int):
        self.n, self.layers, self.heads, self.top_k = n, layers, heads, top_k

    def position(self, path: str, v: Any) -> int:
        return _int(path, v, 0, self.n - 1, f"a token position 0..{self.n - 1}")

    def positions(self, path: str, v: Any, lo: int = 1, hi: int | None = None) -> list[int]:
        _list(path, v, lo=lo, hi=hi)
        for i, p in enumerate(v):
            self.position(f"{path}[{i}]", p)
        if len(set(v)) != len(v):
            _fail(path, "distinct positions", v)
        return v

    def route(self, path: str, v: Any) -> None:
        if v != "skip":
            _int(path, v, 0, self.heads - 1, f"'skip' or a head 0..{self.heads - 1}")


def _candidate(shape: _Shape, path: str, c: Any) -> tuple[int, Any]:
    _object(path, c, ("position", "route", "score"), ("criterion",))
    shape.position(f"{path}.position", c["position"])
    shape.route(f"{path}.route", c["route"])
    _number(f"{path}.score", c["score"])
    if c.get("criterion") is not None:
        _number(f"{path}.criterion", c["criterion"])
    return c["position"], c["route"]


def _embedding(shape: _Shape, path: str, e: Any, position: int) -> list[list[int]]:
    _object(path, e, ("steps", "influence"), ("method",))
    _number(f"{path}.influence", e["influence"])
    _str(f"{path}.method", e.get("method", "gpr"))
    steps = _list(f"{path}.steps", e["steps"], shape.layers + 1)
    kept = []
    for l, s in enumerate(steps):
        p = f"{path}.steps[{l}]"
        _object(p, s, ("layer", "chosen", "scores"), ("criterion",))
        if s["layer"] != l or not _is_int(s["layer"]):
            _fail(f"{p}.layer", f"{l} (steps go layer 0..{shape.layers} in order)", s["layer"])
        shape.positions(f"{p}.chosen", s["chosen"], 1, shape.top_k)
        if l == 0 and s["chosen"] != [position]:
            _fail(f"{p}.chosen", f"[{position}] (layer 0 is the word's own position)", s["chosen"])
        for i, v in enumerate(_list(f"{p}.scores", s["scores"], shape.n)):
            _number(f"{p}.scores[{i}]", v)
        if s.get("criterion") is not None:
            for i, v in enumerate(_list(f"{p}.criterion", s["criterion"], shape.n)):
                if v is not None:
                    _number(f"{p}.criterion[{i}]", v)
        kept.append(s["chosen"])
    return kept


def _attention(shape: _Shape, path: str, a: Any, kept: list[list[int]]) -> None:
    _object(path, a, ("steps", "influence"), ("method",))
    _number(f"{path}.influence", a["influence"])
    _str(f"{path}.method", a.get("method", "gpr"))
    for i, s in enumerate(_list(f"{path}.steps", a["steps"], shape.layers)):
        p, layer = f"{path}.steps[{i}]", i + 1
        _object(p, s, ("layer", "source_positions", "chosen", "candidates"))
        if s["layer"] != layer or not _is_int(s["layer"]):
            _fail(f"{p}.layer", f"{layer} (steps go layer 1..{shape.layers} in order)", s["layer"])
        if s["source_positions"] != sorted(kept[layer - 1]):
            _fail(f"{p}.source_positions", f"{sorted(kept[layer - 1])} (the embedding level's kept positions "
                                           f"at layer {layer - 1}, sorted)", s["source_positions"])
        cands = _list(f"{p}.candidates", s["candidates"], hi=shape.n * (shape.heads + 1))
        keys = [_candidate(shape, f"{p}.candidates[{j}]", c) for j, c in enumerate(cands)]
        if len(set(keys)) != len(keys):
            _fail(f"{p}.candidates", "distinct (position, route) pairs", "a repeated pair")
        chosen = _list(f"{p}.chosen", s["chosen"], lo=1, hi=shape.top_k)
        picked = [_candidate(shape, f"{p}.chosen[{j}]", c) for j, c in enumerate(chosen)]
        if len(set(picked)) != len(picked):
            _fail(f"{p}.chosen", "distinct (position, route) pairs", "a repeated pair")
        outside = [k for k in picked if k not in set(keys)]
        if outside:
            _fail(f"{p}.chosen", "routes among the candidates", outside[0])


def _word(shape: _Shape, path: str, w: Any, tokens: list[str]) -> None:
    _object(path, w, ("position", "token", "total_influence", "sign", "embedding"), ("attention",))
    position = shape.position(f"{path}.position", w["position"])
    if w["token"] != tokens[position]:
        _fail(f"{path}.token", f"{tokens[position]!r} (tokens[{position}])", w["token"])
    g = _number(f"{path}.total_influence", w["total_influence"])
    if w["sign"] != (1 if g >= 0 else -1) or not _is_int(w["sign"]):
        _fail(f"{path}.sign", f"{1 if g >= 0 else -1} (the sign of total_influence, +1 for 0)", w["sign"])
    kept = _embedding(shape, f"{path}.embedding", w["embedding"], position)
    if w.get("attention") is not None:  # the widgets draw the embedding level where it is missing
        _attention(shape, f"{path}.attention", w["attention"], kept)


REQUIRED = ("text", "tokens", "model", "qoi", "q_input", "q_baseline", "steps", "baseline", "level", "top_k",
            "num_layers", "num_heads", "sources")
OPTIONAL = ("readout_position", "words", "method", "config", "quadrature")


def check_explanation_dict(data: Any, levels: tuple[str, ...]) -> None:
    """Raise :class:`InputError` naming the first field of ``data`` that ``to_dict`` would
    not have written (see the module doc); return quietly when it fits. ``levels``:
    :data:`~ipyinfluence.results.LEVELS` (passed in: results imports this module)."""
    if not isinstance(data, dict):
        raise InputError(f"not an Explanation: it is a JSON object; got {type(data).__name__}.")
    _object("the Explanation", data, REQUIRED, OPTIONAL)
    for key in ("text", "model", "qoi", "baseline"):
        _str(key, data[key])
    tokens = _list("tokens", data["tokens"], lo=1, hi=MAX_TOKENS)
    for i, t in enumerate(tokens):
        _str(f"tokens[{i}]", t)
    n = len(tokens)
    _number("q_input", data["q_input"])
    _number("q_baseline", data["q_baseline"])
    quadrature = data.get("quadrature", "paper")
    if quadrature not in QUADRATURE_NAMES:
        _fail("quadrature", f"one of {QUADRATURE_NAMES}", quadrature)
    if quadrature == "paper":
        _int("steps", data["steps"], 2, wanted="a whole number >= 2 (the paper's rule has both ends)")
    else:
        _int("steps", data["steps"], 1, MAX_GAUSS_LEGENDRE_STEPS)
    if data["level"] not in levels:
        _fail("level", f"one of {levels}", data["level"])
    top_k = _int("top_k", data["top_k"], 1)
    layers = _int("num_layers", data["num_layers"], 1, MAX_LAYERS)
    heads = _int("num_heads", data["num_heads"], 1, MAX_HEADS)
    method = data.get("method", "gpr")
    if not isinstance(method, str) or not _METHOD.fullmatch(method):
        _fail("method", f"'gpr', one of {COMPARISON_NAMES} or 'random:SEED'", method)
    config = data.get("config", {})
    if not isinstance(config, dict):
        _fail("config", "an object", config)
    _json_value("config", config, 1)
    shape = _Shape(n, layers, heads, top_k)
    readout = data.get("readout_position")
    if readout is not None:
        shape.position("readout_position", readout)
    sources = shape.positions("sources", data["sources"])
    if readout is not None and readout in sources:
        _fail("sources", f"positions other than the readout position {readout}", sources)
    words = data.get("words", [])
    _list("words", words, hi=len(sources))
    seen = set()
    for i, w in enumerate(words):
        _word(shape, f"words[{i}]", w, tokens)
        if w["position"] not in sources:
            _fail(f"words[{i}].position", f"one of the sources {_shown(sources)}", w["position"])
        if w["position"] in seen:
            _fail(f"words[{i}].position", "a position no other word has (one result per source word)",
                  w["position"])
        seen.add(w["position"])
