"""Constants and comparisons shared by the reproduction tests."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

N = 6
STEPS = 3
TASK = "sva-obj"
SST2_DEV = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "sst2" / "dev.tsv"


def strip_worker(record: dict) -> dict:
    """A record without what depends on who computed it and when."""
    return {k: v for k, v in record.items() if k != "worker"}


def assert_same_records(a: list[dict], b: list[dict], rel: float = 1e-6) -> None:
    """Same ids, texts and patterns exactly; numbers to ``rel``."""
    assert [r["id"] for r in a] == [r["id"] for r in b]
    for x, y in zip(a, b):
        _same(strip_worker(x), strip_worker(y), rel, x["id"])


def _same(x, y, rel, where):
    if isinstance(x, dict):
        assert isinstance(y, dict) and x.keys() == y.keys(), where
        for k in x:
            _same(x[k], y[k], rel, f"{where}.{k}")
    elif isinstance(x, list):
        assert isinstance(y, list) and len(x) == len(y), where
        for i, (u, v) in enumerate(zip(x, y)):
            _same(u, v, rel, f"{where}[{i}]")
    elif isinstance(x, float) and not isinstance(y, str):
        assert (math.isnan(x) and math.isnan(y)) or y == pytest.approx(x, rel=rel, abs=1e-9), where
    else:
        assert x == y, where
