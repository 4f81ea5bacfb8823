"""The thread policy for interactive runs (ipyinfluence.threads)."""

from __future__ import annotations

import pytest
import torch

from ipyinfluence import InfluenceError
from ipyinfluence import threads as policy


def test_explicit_count_then_env_then_auto(monkeypatch):
    monkeypatch.delenv(policy.THREADS_ENV, raising=False)
    assert policy.interactive_threads(3) == 3
    monkeypatch.setenv(policy.THREADS_ENV, "2")
    assert policy.interactive_threads() == 2 and policy.interactive_threads("auto") == 2
    assert policy.interactive_threads(5) == 5  # an explicit count wins over the variable
    monkeypatch.delenv(policy.THREADS_ENV)
    monkeypatch.setattr(policy, "physical_cores", lambda: 8)
    monkeypatch.setattr(policy, "busy_cores", lambda: 3)
    assert policy.interactive_threads(cap=16) == 5  # the cores nobody else keeps busy
    assert policy.interactive_threads(cap=2) == 2  # never above the caller's own torch setting
    monkeypatch.setattr(policy, "busy_cores", lambda: 20)
    assert policy.interactive_threads(cap=16) == 1  # at least one


@pytest.mark.parametrize("bad", [0, -1, "many", True, 1.5])
def test_bad_counts_name_the_fix(bad, monkeypatch):
    with pytest.raises(InfluenceError, match="positive whole number of threads or 'auto'"):
        policy.interactive_threads(bad)
    monkeypatch.setenv(policy.THREADS_ENV, "0")
    with pytest.raises(InfluenceError, match=policy.THREADS_ENV):
        policy.interactive_threads()


def test_torch_threads_restores(one_torch_thread):
    with policy.torch_threads(2) as n:
        assert n == 2 and torch.get_num_threads() == 2
    assert torch.get_num_threads() == 1
