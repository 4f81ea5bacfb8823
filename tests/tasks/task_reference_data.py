"""Readers of the reference copies in <repo>/../shared/data (imported by the task tests)."""

from __future__ import annotations

import csv
from pathlib import Path


def read_marvin_linzen(shared_data: Path, case: str) -> list[tuple[str, str, str, str]]:
    """``(case, type, good, bad)`` rows of a Marvin & Linzen reference TSV, in file order."""
    with (shared_data / "marvin_linzen" / f"{case}.tsv").open(newline="") as f:
        return [(r["case"], r["type"], r["good"], r["bad"]) for r in csv.DictReader(f, delimiter="\t")]
