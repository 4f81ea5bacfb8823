"""Integration rules (SPEC §2): the points and weights, steps="auto", and agreement of the
rules where they must agree. Each rule against the explicit-Jacobian reference is in
tests/test_gpr_reference.py (parametrised over the rules)."""

import math

import numpy as np
import pytest
import torch

from ipyinfluence import ClassContrast, EmbeddingSimilarity, Explanation, InputError, TokenContrast, explain
from ipyinfluence.quadrature import AUTO_STEPS, path_mean, path_points
from ipyinfluence.tiny import tiny_model

TEXT = "the author that the guards like [MASK] happy ."


@pytest.mark.parametrize("n", [1, 2, 5, 16])
def test_gauss_legendre_is_exact_for_polynomials_up_to_degree_2n_minus_1(n):
    pts = path_points(n, "gauss-legendre", dtype=torch.float64)
    assert float(pts.weights.sum()) == pytest.approx(1.0, abs=1e-14)
    assert bool((pts.alphas > 0).all()) and bool((pts.alphas < 1).all())
    for degree in range(2 * n):
        values = pts.alphas ** degree
        assert float(path_mean(values, pts.weights, 0)) == pytest.approx(1.0 / (degree + 1), abs=1e-12)
    if n <= 5:  # and not one degree more (the rule is no more than it claims; for large n the miss is tiny)
        values = pts.alphas ** (2 * n)
        assert float(path_mean(values, pts.weights, 0)) != pytest.approx(1.0 / (2 * n + 1), abs=1e-12)


def test_the_paper_rule_is_the_plain_mean_over_linspace():
    pts = path_points(7, "paper", dtype=torch.float64)
    assert pts.weights is None
    assert torch.equal(pts.alphas, torch.linspace(0, 1, 7, dtype=torch.float64))
    x = torch.arange(14.0).reshape(7, 2)
    assert torch.equal(path_mean(x, None, 0), x.mean(0))


@pytest.fixture(scope="module")
def mlm():
    return tiny_model("bert", "masked-lm", seed=3, dtype=torch.float64, layers=2)


def test_both_rules_read_the_same_ends(mlm):
    """q(x) and q(b) do not depend on the rule, though Gauss–Legendre has no point at α = 0 or 1."""
    a = explain(mlm, TEXT, TokenContrast("is", "are"), steps=5, level="embedding", quadrature="paper")
    b = explain(mlm, TEXT, TokenContrast("is", "are"), steps=5, level="embedding", quadrature="gauss-legendre")
    assert b.quadrature == "gauss-legendre" and a.quadrature == "paper"
    assert b.q_input == pytest.approx(a.q_input, rel=1e-12)
    assert b.q_baseline == pytest.approx(a.q_baseline, rel=1e-12)


def test_gauss_legendre_converges_faster_than_the_paper_rule(mlm):
    """Against a 64-node Gauss–Legendre reference, 8 nodes beat the paper's 51 points."""
    qoi = TokenContrast("is", "are")
    ref = explain(mlm, TEXT, qoi, steps=64, level="embedding", quadrature="gauss-legendre")
    g_ref = np.array([w.total_influence for w in ref.words])

    def err(e):
        return np.abs(np.array([w.total_influence for w in e.words]) - g_ref).max()

    paper = err(explain(mlm, TEXT, qoi, steps=51, level="embedding", quadrature="paper"))
    gl = err(explain(mlm, TEXT, qoi, steps=8, level="embedding", quadrature="gauss-legendre"))
    assert gl < paper


FAMILIES = ["bert", "roberta", "distilbert", "electra", "albert"]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("task", ["masked-lm", "classification", "encoder"])
def test_auto_steps_meet_the_tolerance_and_no_fewer_would(family, task, one_torch_thread):
    m = tiny_model(family, task, seed=1, layers=2, dtype=torch.float64)
    qoi = {"masked-lm": TokenContrast("is", "are"), "classification": ClassContrast(1, 0),
           "encoder": EmbeddingSimilarity("the guards are happy .")}[task]
    text = TEXT if task == "masked-lm" else "the guards like the author ."
    tol = 0.01
    # every position a source (the [MASK]'s x − b is zero under the mask baseline, so it adds nothing)
    e = explain(m, text, qoi, steps="auto", tolerance=tol, level="embedding")
    auto = e.config["auto_steps"]
    assert e.quadrature == "gauss-legendre" and e.steps == auto["tried"][-1][0]
    assert auto["converged"]
    delta = abs(e.q_input - e.q_baseline)
    g = [w.total_influence for w in e.words]
    assert abs(e.completeness_gap) <= tol * delta + 1e-12
    assert len(auto["tried"]) >= 2  # the change of g_i needs a previous count
    fewer = auto["tried"][-2][0]
    prev = explain(m, text, qoi, steps=fewer, quadrature="gauss-legendre", level="embedding")
    g_prev = [w.total_influence for w in prev.words]
    change = max(abs(a - b) for a, b in zip(g, g_prev))
    assert change <= tol * max(abs(v) for v in g) + 1e-12  # every g_i settled since the previous count
    assert auto["tried"][-1][2] == pytest.approx(change, rel=1e-6, abs=1e-15)
    assert auto["tried"][0][2] is None  # the first count has nothing to compare with
    for n, gap, moved in auto["tried"][1:-1]:  # and every earlier count missed one of the two tests
        assert gap > tol * delta or moved > tol * max(abs(v) for v in g_prev) * 0.999
    assert Explanation.from_json(e.to_json()) == e  # what was tried is stored as plain JSON
    assert e.steps in AUTO_STEPS["gauss-legendre"]


def test_auto_steps_work_with_the_paper_rule_too(mlm):
    e = explain(mlm, TEXT, TokenContrast("is", "are"), steps="auto", quadrature="paper", level="embedding")
    assert e.quadrature == "paper" and e.steps in AUTO_STEPS["paper"]
    assert abs(e.completeness_gap) <= 0.01 * abs(e.q_input - e.q_baseline) + 1e-12


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(quadrature="simpson"), "quadrature must be one of"),
    (dict(quadrature=3), "quadrature must be one of"),
    (dict(steps="many"), "steps must be"),
    (dict(steps=0, quadrature="gauss-legendre"), "at least 1"),
    (dict(steps=1, quadrature="paper"), "at least 2"),
    (dict(steps=5000, quadrature="gauss-legendre"), "more than"),
    (dict(steps="auto", tolerance=0), "tolerance"),
    (dict(steps="auto", tolerance=2.0), "tolerance"),
    (dict(steps="auto", tolerance="1%"), "tolerance"),
])
def test_bad_rule_options_get_a_clear_error(mlm, kwargs, fragment):
    with pytest.raises(InputError, match=fragment):
        explain(mlm, TEXT, TokenContrast("is", "are"), **kwargs)


def test_a_single_gauss_legendre_node_is_a_valid_rule(mlm):
    e = explain(mlm, TEXT, TokenContrast("is", "are"), steps=1, quadrature="gauss-legendre")
    assert e.steps == 1 and all(math.isfinite(w.total_influence) for w in e.words)


def test_a_long_text_is_chunked_and_equals_the_unchunked_result(one_torch_thread):
    """256 tokens on a small random model: the default chunking bounds a chunk's rows by the
    memory budget, and any chunking gives the same numbers as one chunk."""
    from ipyinfluence.explanation_stream import _bytes_per_word, default_rows
    from ipyinfluence.validation import available_memory

    m = tiny_model("bert", "masked-lm", seed=2, layers=2, max_positions=300)
    words = ("the author that the guards like is happy . " * 40).split()
    text = " ".join(words[:254])
    enc = m.encode(text)
    assert len(enc) == 256
    rows = default_rows(m, len(enc), 8)
    assert rows % 8 == 0 and rows // 8 * _bytes_per_word(m, 256, 8) <= 0.5 * available_memory(m.device)
    src = [1, 50, 100, 150, 200, 253]
    qoi = TokenContrast("is", "are", position=254)
    one = explain(m, text, qoi, steps=8, sources=src, quadrature="gauss-legendre")
    chunked = explain(m, text, qoi, steps=8, sources=src, quadrature="gauss-legendre", max_batch=16, progress=True)
    assert [w.position for w in chunked.words] == src
    for a, b in zip(one.words, chunked.words):
        assert a.embedding.positions == b.embedding.positions and a.attention.routes == b.attention.routes
        assert b.total_influence == pytest.approx(a.total_influence, rel=1e-5, abs=1e-9)
