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
def _one_thread(one_torch_thread):
    """Every test here runs on one torch thread (see tests/conftest.py)."""
