"""Issue 16.3: Explorer(threads=5000) is lowered to the CPUs (with a warning) instead of
aborting the kernel when OpenMP cannot create the threads."""

import pytest

from ipyinfluence import threads as policy
from ipyinfluence.widgets import Explorer


def test_explorer_threads_above_the_cpus_are_lowered(mlm):
    limit = policy.max_threads()
    with pytest.warns(policy.TooManyThreadsWarning, match=f"using {limit}"):
        x = Explorer(mlm, text="the guards [MASK] happy .", steps=3, threads=5000)
    assert x.threads == limit
    with pytest.warns(policy.TooManyThreadsWarning):
        x.threads = limit + 1
    assert x.threads == limit
