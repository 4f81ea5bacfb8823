"""Issue 9.9: nothing at run time may need ``../shared`` (a fresh clone does not have it):
no module of the package names that folder. Tests may read it only with a skip-with-reason
(``shared_data`` fixture in tests/tasks/conftest.py); the CI runs the data-free tests from a
copy of the repository with no ``../shared`` beside it (.ci/run)."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ipyinfluence"


def test_the_package_never_names_the_shared_folder():
    hits = [f"{p.relative_to(PACKAGE.parent)}:{n}" for p in sorted(PACKAGE.rglob("*.py"))
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if re.search(r"""(\.\./|["'/])shared(/|["'])""", line)]
    assert hits == [], hits
