import pytest
import torch

from ipyinfluence import TokenContrast, iter_explain
from ipyinfluence.tiny import tiny_model

TEXT = "the author that the guards like [MASK] happy ."
STEPS = 5


@pytest.fixture(scope="session")
def mlm():
    """A 3-layer tiny masked LM in float64 (compared against references)."""
    return tiny_model(dtype=torch.float64, layers=3)


@pytest.fixture(scope="session")
def classifier():
    return tiny_model(task="classification", dtype=torch.float64)


@pytest.fixture(scope="session")
def text():
    return TEXT


@pytest.fixture(scope="session")
def stream(mlm):
    """The shared pass (prep, sources, readout) of one text, as explain builds it."""
    return iter_explain(mlm, TEXT, TokenContrast("is", "are"), steps=STEPS, quadrature="paper")


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every test here runs on one torch thread (see tests/conftest.py)."""
