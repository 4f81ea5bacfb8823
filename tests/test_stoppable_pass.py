"""The shared pass stops when asked (issue 19.4): ``prepare``'s ``should_stop`` between the
layers of its backward, :func:`stoppable_prepare` between α slices, the stream between
chunks of words; and a pass in slices is the pass in one batch."""

from __future__ import annotations

import pytest
import torch

from ipyinfluence import TokenContrast, iter_explain
from ipyinfluence import gpr
from ipyinfluence.errors import Cancelled
from ipyinfluence.integration import baseline_vectors
from ipyinfluence.qoi import as_qoi
from ipyinfluence.quadrature import path_points
from ipyinfluence.stoppable_pass import stoppable_prepare
from ipyinfluence.tiny import tiny_model

TEXT = "the author that the guards like [MASK] happy ."


@pytest.fixture(scope="module")
def model():
    return tiny_model(layers=4)


def _inputs(model, steps=16, rule="gauss-legendre"):
    enc = model.encode(TEXT)
    x = model.word_vectors(torch.as_tensor(enc.input_ids)).detach()
    b = baseline_vectors(model, enc, "mask")
    pts = path_points(steps, rule, model.device, model.dtype)
    return x, b, as_qoi(TokenContrast("is", "are")).bind(model, enc), pts


@pytest.mark.parametrize("rule", ["gauss-legendre", "paper"])
def test_the_pass_in_slices_is_the_pass_in_one_batch(model, rule, one_torch_thread):
    x, b, qoi, pts = _inputs(model, 16, rule)
    whole = gpr.prepare(model, x, b, qoi, pts.alphas, pts.weights)
    sliced = stoppable_prepare(model, x, b, qoi, pts.alphas, pts.weights, lambda: False, rows=3)  # 3+3+…+1
    for name in ("alphas", "q", "input_grad"):
        assert torch.allclose(getattr(sliced, name), getattr(whole, name), atol=1e-6), name
    assert all(torch.allclose(s, w, atol=1e-6) for s, w in zip(sliced.grads, whole.grads))
    assert all(torch.allclose(s, w, atol=1e-6) for s, w in zip(sliced.forward.hidden, whole.forward.hidden))
    for s, w in zip(sliced.forward.layers, whole.forward.layers):
        assert torch.allclose(s.probs, w.probs, atol=1e-6) and torch.allclose(s.act_grad, w.act_grad, atol=1e-6)
        assert torch.allclose(s.ln2.xhat, w.ln2.xhat, atol=1e-5) and s.ln2.weight.shape == w.ln2.weight.shape
    assert (sliced.q_input, sliced.q_baseline) == pytest.approx((whole.q_input, whole.q_baseline), abs=1e-6)
    assert all(torch.allclose(s, w, atol=1e-6) for s, w in zip(sliced.input_probs, whole.input_probs))
    assert torch.allclose(sliced.totals(), whole.totals(), atol=1e-6)


def test_a_stop_during_the_backward_ends_it_at_the_next_layer(model, monkeypatch, one_torch_thread):
    x, b, qoi, pts = _inputs(model)
    layers_done = []
    real = gpr.layer_vjp
    monkeypatch.setattr(gpr, "layer_vjp", lambda *a: layers_done.append(1) or real(*a))
    with pytest.raises(Cancelled, match="layer 2 of its backward"):
        gpr.prepare(model, x, b, qoi, pts.alphas, pts.weights, should_stop=lambda: len(layers_done) >= 2)
    assert len(layers_done) == 2  # layers 4 and 3; not one more after the flag flipped


def test_a_stop_during_the_sliced_pass_ends_it_within_one_slice(model, monkeypatch, one_torch_thread):
    """The flag flips in the middle of the first slice's forward: the pass ends before any
    other forward or backward layer runs."""
    x, b, qoi, pts = _inputs(model, 32)
    forwards, layers = [], []
    real_forward, real_vjp = model.forward, gpr.layer_vjp
    flag = {"stop": False}

    def forward(e, cache=False):
        forwards.append(e.shape[0])
        flag["stop"] = True  # a Cancel click while this forward runs
        return real_forward(e, cache=cache)

    monkeypatch.setattr(model, "forward", forward)
    monkeypatch.setattr(gpr, "layer_vjp", lambda *a: layers.append(1) or real_vjp(*a))
    with pytest.raises(Cancelled):
        stoppable_prepare(model, x, b, qoi, pts.alphas, pts.weights, lambda: flag["stop"], rows=1)
    assert forwards == [1] and layers == []  # one row's forward, then nothing


def test_the_stream_stops_in_the_pass_and_between_words(model, one_torch_thread):
    calls = []

    def stop_at(n):
        return lambda: calls.append(1) or len(calls) > n

    with pytest.raises(Cancelled, match="shared pass"):
        iter_explain(model, TEXT, TokenContrast("is", "are"), steps=16, should_stop=stop_at(3))
    calls.clear()
    flag = {"stop": False}
    stream = iter_explain(model, TEXT, TokenContrast("is", "are"), steps=16, max_batch=16,
                          should_stop=lambda: flag["stop"])
    next(stream)
    flag["stop"] = True
    with pytest.raises(Cancelled, match="after 1 of"):
        next(stream)
    assert stream.done == 1


def test_slices_are_sized_from_the_model_not_a_clock():
    """One row per slice on a BERT-base-sized model at 40 tokens (a forward of ~0.1-0.3 s on
    one core), four on a MiniLM-sized one at 31, every row at once on the tiny test model:
    the same numbers every run."""
    from types import SimpleNamespace

    from ipyinfluence.stoppable_pass import slice_rows

    layer = SimpleNamespace(wq=torch.empty(768, 768), intermediate_size=3072)
    base = SimpleNamespace(weights=SimpleNamespace(layers=[layer] * 12, num_layers=12), device=torch.device("cpu"))
    assert slice_rows(base, 40, 32) == 1
    mini_layer = SimpleNamespace(wq=torch.empty(384, 384), intermediate_size=1536)
    mini = SimpleNamespace(weights=SimpleNamespace(layers=[mini_layer] * 6, num_layers=6), device=torch.device("cpu"))
    assert slice_rows(mini, 31, 32) == 4
    assert slice_rows(tiny_model(), 12, 32) == 32


def test_the_ends_are_read_one_row_at_a_time_with_a_stop_check(model, monkeypatch, one_torch_thread):
    """Gauss–Legendre misses α = 0 and 1: q(b) and q(x) take their own forward, one row each,
    and a stop between them is heard."""
    x, b, qoi, pts = _inputs(model, 4)
    rows, real = [], model.forward
    flag = {"stop": False}

    def forward(e, cache=False):
        rows.append(e.shape[0])
        if len(rows) == 5:  # after the 4 one-row slices: the forward at α = 0
            flag["stop"] = True
        return real(e, cache=cache)

    monkeypatch.setattr(model, "forward", forward)
    with pytest.raises(Cancelled, match="q\\(b\\) and q\\(x\\)"):
        stoppable_prepare(model, x, b, qoi, pts.alphas, pts.weights, lambda: flag["stop"], rows=1)
    assert rows == [1, 1, 1, 1, 1]
