import pytest
import torch

from ipyinfluence.tiny import tiny_model


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every test here runs on one torch thread (see tests/conftest.py)."""


@pytest.fixture(scope="session")
def mlm():
    return tiny_model()


@pytest.fixture(scope="session")
def mlm64():
    return tiny_model(dtype=torch.float64)
