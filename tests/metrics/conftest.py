import pytest
import torch

from ipyinfluence.tiny import tiny_model


@pytest.fixture(scope="session")
def mlm():
    """A 2-layer tiny masked LM in float64."""
    return tiny_model(dtype=torch.float64)


@pytest.fixture(scope="session")
def classifier():
    return tiny_model(task="classification", dtype=torch.float64)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models gain nothing from intra-op threads, and on a busy 2-core runner their
    barriers stall (seconds instead of milliseconds); restored after each test."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
