"""The issue-11 benchmark scripts' own logic: how they compare explanations, fit growth
exponents, and refuse to run without a GPU. (Their tables are measurements, not tests.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

from length import slope  # noqa: E402
from quadrature import compare  # noqa: E402

from ipyinfluence import TokenContrast, explain  # noqa: E402
from ipyinfluence.tiny import tiny_model  # noqa: E402

TEXT = "the author that the guards like [MASK] happy ."


def test_slope_recovers_a_power_law():
    ns = [11, 32, 64, 128, 256]
    assert slope(ns, [3.0 * n ** 2.5 for n in ns]) == pytest.approx(2.5)
    assert slope(ns, [0.1 * n for n in ns]) == pytest.approx(1.0)


def test_compare_sees_agreement_and_difference(one_torch_thread):
    model = tiny_model(seed=0)
    qoi = TokenContrast("is", "are")
    ref = explain(model, TEXT, qoi, steps=32, quadrature="gauss-legendre")
    same = compare([explain(model, TEXT, qoi, steps=32, quadrature="gauss-legendre")], [ref])
    assert same == {"g": 0.0, "emb": 0.0, "att": 0.0, "emb_same": 1.0, "att_same": 1.0}
    coarse = compare([explain(model, TEXT, qoi, steps=2, quadrature="paper")], [ref])
    assert coarse["g"] > 1e-3  # the two-point trapezoid is far from the converged rule
    assert 0.0 <= coarse["emb_same"] <= 1.0 and 0.0 <= coarse["att_same"] <= 1.0


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown where there is no GPU")
def test_gpu_benchmark_exits_with_a_clear_message_without_cuda():
    out = subprocess.run([sys.executable, str(BENCH / "gpu.py")], capture_output=True, text=True, timeout=300)
    assert out.returncode == 2
    assert "no CUDA device" in out.stderr and "--device cpu --quick" in out.stderr
