"""Fixtures for the widget tests: tiny random models (shared per session, they take a
few seconds to build) and a hand-made Explanation whose picture is known exactly."""

from __future__ import annotations

import pytest

from ipyinfluence.results import (
    AttentionPattern,
    AttentionStep,
    EmbeddingPattern,
    EmbeddingStep,
    Explanation,
    RouteCandidate,
    WordResult,
)

STEPS = 3  # interpolation steps in widget tests: the math is tested elsewhere
MLM_TEXT = "the guards [MASK] happy ."


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every test here runs on one torch thread (see tests/conftest.py)."""


@pytest.fixture(scope="session")
def mlm():
    from ipyinfluence.tiny import tiny_model

    return tiny_model(task="masked-lm")


@pytest.fixture(scope="session")
def classifier():
    from ipyinfluence.tiny import tiny_model

    return tiny_model(task="classification")


@pytest.fixture(scope="session")
def encoder():
    from ipyinfluence.tiny import tiny_model

    return tiny_model(task="encoder")


@pytest.fixture(scope="session")
def mlm_result(mlm):
    """A real attention-level explanation of a short sentence (tiny model)."""
    from ipyinfluence import TokenContrast, explain

    return explain(mlm, MLM_TEXT, TokenContrast("is", "are"), steps=STEPS, level="attention")


def _scores(n: int, hot: dict[int, float]) -> list[float]:
    return [hot.get(i, 0.0) for i in range(n)]


def known_explanation() -> Explanation:
    """Six tokens, two layers, readout at 3, two words with hand-written patterns.

    author (2): g = +0.5, π^e positions [2, 2, 3], π^a routes [skip, head 3], I^e = 0.4, I^a = 0.35
    happy (4):  g = -0.2, π^e positions [4, 1, 3], π^a routes [head 0, head 2], I^e = -0.1, I^a = -0.08
    """
    tokens = ["[CLS]", "the", "author", "[MASK]", "happy", "[SEP]"]
    n = len(tokens)
    author = WordResult(
        position=2, token="author", total_influence=0.5, sign=1,
        embedding=EmbeddingPattern(steps=[
            EmbeddingStep(0, [2], _scores(n, {2: 0.5})),
            EmbeddingStep(1, [2], _scores(n, {2: 0.45, 4: 0.1})),
            EmbeddingStep(2, [3], _scores(n, {3: 0.4, 0: 0.01})),
        ], influence=0.4),
        attention=AttentionPattern(steps=[
            AttentionStep(1, [2], [RouteCandidate(2, "skip", 0.42)],
                          [RouteCandidate(2, "skip", 0.42), RouteCandidate(2, 1, 0.02), RouteCandidate(2, 0, -0.01)]),
            AttentionStep(2, [2], [RouteCandidate(3, 3, 0.35)],
                          [RouteCandidate(3, 3, 0.35), RouteCandidate(3, 0, 0.03)]),
        ], influence=0.35),
    )
    happy = WordResult(
        position=4, token="happy", total_influence=-0.2, sign=-1,
        embedding=EmbeddingPattern(steps=[
            EmbeddingStep(0, [4], _scores(n, {4: -0.2})),
            EmbeddingStep(1, [1], _scores(n, {1: -0.15, 4: -0.05})),
            EmbeddingStep(2, [3], _scores(n, {3: -0.1})),
        ], influence=-0.1),
        attention=AttentionPattern(steps=[
            AttentionStep(1, [4], [RouteCandidate(1, 0, -0.12)],
                          [RouteCandidate(1, 0, -0.12), RouteCandidate(4, "skip", -0.02)]),
            AttentionStep(2, [1], [RouteCandidate(3, 2, -0.08)], [RouteCandidate(3, 2, -0.08)]),
        ], influence=-0.08),
    )
    return Explanation(
        text="the author [MASK] happy", tokens=tokens, model="hand-made", qoi="logit[3, is] − logit[3, are]",
        q_input=1.0, q_baseline=0.2, steps=3, baseline="mask", level="attention", top_k=1, num_layers=2,
        num_heads=4, sources=[0, 1, 2, 4, 5], readout_position=3, words=[author, happy],
    )


@pytest.fixture
def known():
    return known_explanation()
