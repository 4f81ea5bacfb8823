"""Fixtures for the reproduction tests: a tiny random masked LM, a few SVA instances with
3 integration steps, and one single-process run that the other runs are compared with."""

from __future__ import annotations

import pytest
import torch

from _reproduce_helpers import N, STEPS, TASK


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every test here runs on one torch thread (see tests/conftest.py)."""


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory):
    """``reproduce`` of N instances in this process (rank 0 of 1): the folder and its records."""
    from ipyinfluence.reproduce import load_results, reproduce

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path_factory.mktemp("reference")
        summary = reproduce(TASK, "tiny", N, out, steps=STEPS, progress=False, log=lambda s: None)
    finally:
        torch.set_num_threads(before)
    assert summary.computed == {TASK: N}
    return out, load_results(out)
