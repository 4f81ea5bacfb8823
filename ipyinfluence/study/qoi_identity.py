"""A QoI as a stable text, stored in a study's header so a file is resumed only with the QoI it was computed with.

``TokenContrast("was", "were")`` and ``("is", "are")`` differ in their text (their
``repr``). A callable QoI's ``repr`` holds its memory address, which changes every run,
so a function is written as its module and qualified name plus a hash of what decides
its result: its bytecode, constants and names, its defaults, the values it closes over,
and the module-level functions it calls (to a small depth). ``lambda o: -f(o)`` and
``f`` therefore differ, and the same source run again is the same. What a hash cannot
see (a global number the function reads, say) is not covered: name such a QoI with
``CallableQoI(fn, description="...")`` and change the description when it changes.
"""

from __future__ import annotations

import functools
import hashlib
import types
from typing import Any

from ..qoi import CallableQoI

_DEPTH = 3  # how deep called functions and closed-over functions are followed


def qoi_identity(qoi: Any) -> str:
    """The stable text of a QoI (or of any callable used as one)."""
    if isinstance(qoi, CallableQoI):
        described = f" {qoi.description!r}" if qoi.description else ""
        where = f" at {qoi.readout_position}" if qoi.readout_position is not None else ""
        return f"CallableQoI{described}{where}: {callable_identity(qoi.fn)}"
    if callable(qoi) or " at 0x" in repr(qoi):
        return callable_identity(qoi)
    return repr(qoi)


def callable_identity(fn: Any) -> str:
    name = f"{getattr(fn, '__module__', None) or '?'}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"
    h = hashlib.blake2b(digest_size=8)
    _feed(h, fn, _DEPTH, set())
    return f"{name}#{h.hexdigest()}"


def _feed(h, value: Any, depth: int, seen: set) -> None:
    """Hash what decides ``value``'s behaviour (see the module doc); ``seen`` stops cycles."""
    if id(value) in seen:
        h.update(b"<cycle>")
        return
    if isinstance(value, (str, bytes, int, float, complex, bool, type(None))):
        h.update(repr(value).encode())
        return
    if isinstance(value, (tuple, list, frozenset, set)):
        h.update(type(value).__name__.encode())
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        for v in items:
            _feed(h, v, depth, seen)
        return
    seen = seen | {id(value)}
    if isinstance(value, types.CodeType):
        h.update(value.co_code)
        h.update(repr(value.co_names).encode())
        for c in value.co_consts:
            _feed(h, c, depth, seen)
        return
    if isinstance(value, functools.partial):
        _feed(h, value.func, depth, seen)
        _feed(h, value.args, depth, seen)
        _feed(h, sorted(value.keywords.items()), depth, seen)
        return
    if isinstance(value, types.MethodType):
        _feed(h, value.__func__, depth, seen)
        _feed(h, value.__self__, depth, seen)
        return
    if isinstance(value, types.FunctionType):
        h.update(f"{value.__module__}.{value.__qualname__}".encode())
        _feed(h, value.__code__, depth, seen)
        _feed(h, value.__defaults__, depth, seen)
        _feed(h, sorted((value.__kwdefaults__ or {}).items()), depth, seen)
        if depth > 0:
            for cell in value.__closure__ or ():
                try:
                    _feed(h, cell.cell_contents, depth - 1, seen)
                except ValueError:  # an empty cell
                    h.update(b"<empty>")
            for name in _names(value.__code__):
                called = value.__globals__.get(name)
                if isinstance(called, (types.FunctionType, functools.partial)):
                    h.update(name.encode())
                    _feed(h, called, depth - 1, seen)
        return
    text = repr(value)
    if " at 0x" not in text:  # a repr that says what the object is (a QoI, a tensor's summary...)
        h.update(f"{type(value).__module__}.{type(value).__qualname__}:{text}".encode())
        return
    # an object whose repr is only its address: its type, its __call__ and its attributes
    h.update(f"{type(value).__module__}.{type(value).__qualname__}".encode())
    call = getattr(type(value), "__call__", None)
    if isinstance(call, types.FunctionType):
        _feed(h, call, depth, seen)
    if depth > 0:
        for k, v in sorted(getattr(value, "__dict__", {}).items()):
            h.update(k.encode())
            _feed(h, v, depth - 1, seen)


def _names(code: types.CodeType):
    yield from code.co_names
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from _names(c)
