"""Results on any device equal a float64 CPU run to fp32 tolerance (SPEC issue 2, 3e).

The CUDA case runs where a GPU is present (the device tool's machine) and is skipped with
a reason elsewhere; the CPU case is its twin and always runs.
"""

import pytest
import torch

from ipyinfluence import TokenContrast, explain
from ipyinfluence.tiny import tiny_model

TEXT = "the author that the guards like [MASK] happy ."


@pytest.fixture(scope="module")
def reference():
    m = tiny_model("bert", "masked-lm", seed=5, dtype=torch.float64, layers=3, hidden=64, intermediate=96)
    return explain(m, TEXT, TokenContrast("is", "are"), steps=11)


@pytest.mark.parametrize("device", [
    "cpu",
    pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(),
                                                                   reason="needs a CUDA GPU; the cpu case is its twin")]),
])
def test_fp32_on_device_matches_fp64_cpu(device, reference):
    m = tiny_model("bert", "masked-lm", seed=5, layers=3, hidden=64, intermediate=96, device=device)
    assert m.device.type == device
    got = explain(m, TEXT, TokenContrast("is", "are"), steps=11)
    scale = max(abs(w.total_influence) for w in reference.words)
    assert got.q_input == pytest.approx(reference.q_input, abs=1e-5)
    for g, r in zip(got.words, reference.words):
        assert g.total_influence == pytest.approx(r.total_influence, abs=1e-4 * scale)
        assert g.embedding.positions == r.embedding.positions
        assert g.attention.routes == r.attention.routes
        for gs, rs in zip(g.embedding.steps, r.embedding.steps):
            assert gs.scores == pytest.approx(rs.scores, abs=1e-4 * scale)
        assert g.attention.influence == pytest.approx(r.attention.influence, abs=1e-4 * scale)
