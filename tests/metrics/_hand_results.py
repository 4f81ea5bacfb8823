"""Small WordResults built by hand, so metric tests can be checked with pencil and paper."""

from ipyinfluence.results import (
    SKIP,
    AttentionPattern,
    AttentionStep,
    EmbeddingPattern,
    EmbeddingStep,
    RouteCandidate,
    WordResult,
)


def word(position, g, positions, influence=0.0, routes=None, attention_influence=0.0, n=4):
    """A word at ``position`` with ``g_i = g``; ``positions`` are its nodes at layers 0..L and
    ``routes`` (optional) its route per layer 1..L ("skip" or a head index)."""
    steps = [EmbeddingStep(layer=l, chosen=[p], scores=[0.0] * n) for l, p in enumerate(positions)]
    attention = None
    if routes is not None:
        a_steps = []
        for l, r in enumerate(routes, start=1):
            c = RouteCandidate(positions[l], SKIP if r == "skip" else r, 0.0)
            a_steps.append(AttentionStep(layer=l, source_positions=[positions[l - 1]], chosen=[c], candidates=[c]))
        attention = AttentionPattern(steps=a_steps, influence=attention_influence)
    return WordResult(position=position, token=f"w{position}", total_influence=g, sign=1 if g >= 0 else -1,
                      embedding=EmbeddingPattern(steps=steps, influence=influence), attention=attention)
