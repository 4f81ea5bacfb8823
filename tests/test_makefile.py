"""`make demo` starts JupyterLab with --allow-root exactly when run as root (issue 10.6)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_allows_root_only_as_root():
    # -n: print, run nothing; -o: take the install stamp as up to date (no venv is built).
    out = subprocess.run(["make", "-n", "-o", ".venv/.installed", "demo"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    line = next(l for l in out.splitlines() if "jupyter lab" in l)
    assert line.endswith("notebooks/quickstart.ipynb")  # the README's command opens the quickstart
    assert ("--allow-root" in line) == (os.getuid() == 0), line
