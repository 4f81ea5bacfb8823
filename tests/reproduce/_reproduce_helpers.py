"""Constants and comparisons shared by the reproduction tests."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

N = 6
STEPS = 3
TASK = "sva-obj"
# A few sentences in GLUE SST-2's TSV layout, written by the tests: the reproduction tests need
# no data outside the repository (a fresh clone has no ../shared; issue 9.9).
SST2_SAMPLE = [("a charming and moving film .", 1), ("dull , slow and far too long .", 0),
               ("the actors are great .", 1), ("a boring plot .", 0), ("it is fun .", 1), ("not good at all .", 0)]


def write_sst2_sample(folder: Path) -> Path:
    """``folder/dev.tsv`` with :data:`SST2_SAMPLE` (header ``sentence<TAB>label``)."""
    path = Path(folder) / "dev.tsv"
    path.write_text("sentence\tlabel\n" + "".join(f"{s} \t{label}\n" for s, label in SST2_SAMPLE), encoding="utf-8")
    return path


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
