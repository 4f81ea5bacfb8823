"""The thread policy for interactive runs (ipyinfluence.threads)."""

from __future__ import annotations

import os

import pytest
import torch

from ipyinfluence import InfluenceError
from ipyinfluence import threads as policy


def test_explicit_count_then_env_then_auto(monkeypatch):
    monkeypatch.delenv(policy.THREADS_ENV, raising=False)
    monkeypatch.setattr(policy, "max_threads", lambda: 16)  # this test is about precedence, on any machine
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


class _FakeClock:
    """monotonic / process_time / sleep for the policy module, moved by hand."""

    def __init__(self):
        self.now, self.cpu, self.slept, self.during_sleep = 100.0, 0.0, [], lambda: None

    def monotonic(self):
        return self.now

    def process_time(self):
        return self.cpu

    def sleep(self, s):
        self.slept.append(s)
        self.now += s
        self.during_sleep()


def test_busy_cores_reads_the_window_since_the_last_reading_without_waiting(monkeypatch):
    """A Run click no longer waits 0.05 s to sample the load (issue 10.8): it reads the
    machine over the time since the Explorer was built or the last run ended, less this
    process's own CPU time (its own earlier run is not 'another process')."""
    fake = _FakeClock()
    jiffies = {"busy": 0.0, "total": 0.0}
    monkeypatch.setattr(policy, "time", fake)
    monkeypatch.setattr(policy, "_cpu_times", lambda: (jiffies["busy"], jiffies["total"]))
    monkeypatch.setattr(policy.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(policy.os, "sysconf", lambda name: 100)
    policy.note_cpu_use()
    # 2 s later: the machine's 4 cores ran 800 jiffies, 500 of them busy, 200 of those ours
    fake.now += 2.0
    jiffies.update(busy=500.0, total=800.0)
    fake.cpu += 2.0  # this process: 2 CPU seconds = 200 jiffies
    assert policy.busy_cores() == round((500 - 200) / 800 * 4) == 2
    assert fake.slept == []
    # no usable window (just read): a fresh 0.05 s sample, as before
    fake.during_sleep = lambda: jiffies.update(busy=505.0, total=820.0)
    assert policy.busy_cores() == round(5 / 20 * 4) == 1
    assert fake.slept == [0.05]
    # a stale window (older than max_age_s) is not trusted either
    fake.now += 120.0
    policy.busy_cores()
    assert fake.slept == [0.05, 0.05]


@pytest.mark.parametrize("count", [5000, "5000", " 64 ", "9" * 5000])
def test_a_count_above_the_cpus_is_lowered_to_them_with_a_warning(count, monkeypatch):
    """Issue 16.3: threads=5000 made OpenMP fail to create threads and abort the kernel."""
    monkeypatch.delenv(policy.THREADS_ENV, raising=False)
    monkeypatch.setattr(policy, "max_threads", lambda: 4)
    with pytest.warns(policy.TooManyThreadsWarning, match=r"more threads than the 4 CPUs.*using 4"):
        assert policy.interactive_threads(count) == 4
    monkeypatch.setenv(policy.THREADS_ENV, str(count))
    with pytest.warns(policy.TooManyThreadsWarning, match=policy.THREADS_ENV):
        assert policy.interactive_threads() == 4


def test_counts_up_to_the_cpus_pass_unchanged(monkeypatch, recwarn):
    monkeypatch.setattr(policy, "max_threads", lambda: 4)
    assert [policy.interactive_threads(n) for n in (1, 3, 4)] == [1, 3, 4]
    assert not [w for w in recwarn if issubclass(w.category, policy.TooManyThreadsWarning)]


def test_the_limit_is_the_cpus_this_process_may_use():
    assert 1 <= policy.max_threads() <= (os.cpu_count() or 1)


@pytest.mark.parametrize("bad", ["\u00b2", "\uff15", "1e3"])
def test_digits_int_cannot_read_are_refused_not_crashed(bad):
    with pytest.raises(InfluenceError, match="positive whole number"):
        policy.interactive_threads(bad)
