"""Aggregates against a small study counted by hand."""

import contextlib
import csv
import io
import math
import signal
import statistics

import pytest

from ipyinfluence import InputError
from ipyinfluence.results import (AttentionPattern, AttentionStep, EmbeddingPattern, EmbeddingStep, Explanation,
                                  RouteCandidate, WordResult)
from ipyinfluence.study import SentenceInstance, aggregate, sentences_through

TOKENS = ["[CLS]", "the", "author", "[MASK]", ".", "[SEP]"]
ROLES = ("[CLS]", "the", "subject", "[MASK]", ".", "[SEP]")


def word(position, g, positions, routes):
    """A hand-made word: h positions per layer 0..2, routes into layers 1..2."""
    n = len(TOKENS)
    steps = [EmbeddingStep(l, [p], [0.0] * n) for l, p in enumerate(positions)]
    att = [AttentionStep(l, [positions[l - 1]], [RouteCandidate(positions[l], r, 0.1)],
                         [RouteCandidate(positions[l], r, 0.1)]) for l, r in enumerate(routes, start=1)]
    return WordResult(position, TOKENS[position], g, 1 if g >= 0 else -1, EmbeddingPattern(steps, g / 2),
                      AttentionPattern(att, g / 3))


def explanation(q, words):
    return Explanation(text="the author [MASK] .", tokens=TOKENS, model="hand", qoi="q", q_input=q, q_baseline=0.0,
                       steps=3, baseline="mask", level="attention", top_k=1, num_layers=2, num_heads=2,
                       sources=[0, 1, 2, 4, 5], readout_position=3, words=words)


def study():
    instances = [SentenceInstance("s0", ROLES, {"subject": "author"}, {"subject": "sing"}, "sing"),
                 SentenceInstance("s1", ROLES, {"subject": "pilot"}, {"subject": "sing"}, "sing"),
                 SentenceInstance("s2", ROLES, {"subject": "authors"}, {"subject": "plur"}, "plur")]
    explanations = {
        0: explanation(+1.0, [word(2, 0.5, [2, 2, 3], ["skip", 1]), word(1, -0.2, [1, 3, 3], [0, "skip"])]),
        1: explanation(-0.5, [word(2, 0.3, [2, 3, 3], [0, "skip"]), word(1, 0.1, [1, 1, 3], ["skip", 0])]),
        2: explanation(+2.0, [word(2, -0.1, [2, 2, 3], ["skip", 1]), word(1, 0.4, [1, 3, 3], [1, "skip"])]),
    }
    return instances, explanations


def h(p):
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def test_counts_per_role_and_layer():
    instances, explanations = study()
    agg = aggregate(instances, explanations)
    assert agg.conditions == ["all"] and agg.roles == ["the", "subject"]  # the sources that have results
    a = agg.get("subject")
    assert a.count == 3 and a.indices == [0, 1, 2]
    assert dict(a.routes[0]) == {"skip": 2, 0: 1} and dict(a.routes[1]) == {1: 2, "skip": 1}
    assert dict(a.moves[0]) == {"stay": 2, "[MASK]": 1} and dict(a.moves[1]) == {"[MASK]": 2, "stay": 1}
    assert a.patterns == [("skip@subject → h1@[MASK]", 2), ("h0@[MASK] → skip@[MASK]", 1)]
    assert a.g_mean == pytest.approx(0.7 / 3) and a.g_std == pytest.approx(statistics.pstdev([0.5, 0.3, -0.1]))
    # Ĥ: 6 nodes are in 1 or 2 of the 3 patterns (H(1/3) each), the rest in all or none; |G_a| = 6+18+24+12
    assert a.entropy == pytest.approx(6 * h(1 / 3) / 60)
    heat = agg.heatmap("subject")
    assert heat[0] == pytest.approx([2 / 3, 1 / 3, 0.0]) and heat[1] == pytest.approx([1 / 3, 0.0, 2 / 3])
    assert agg.route_columns() == ["skip", "h0", "h1"]
    the = agg.get("the")
    assert dict(the.routes[0]) == {0: 1, "skip": 1, 1: 1}
    assert dict(the.moves[0]) == {"[MASK]": 2, "stay": 1}


def test_split_by_conditions():
    instances, explanations = study()
    by_number = aggregate(instances, explanations, by="label:subject")
    assert by_number.conditions == ["all", "sing", "plur"]
    assert by_number.get("subject", "sing").count == 2 and by_number.get("subject", "plur").count == 1
    assert dict(by_number.get("subject", "sing").routes[1]) == {1: 1, "skip": 1}
    assert by_number.get("subject", "plur").entropy == 0.0  # one sentence: every node certain
    correct = aggregate(instances, explanations, by="correct")
    assert correct.get("subject", "correct").indices == [0, 2] and correct.get("subject", "wrong").indices == [1]
    slot = aggregate(instances, explanations, by="slot:subject")
    assert slot.conditions == ["all", "author", "pilot", "authors"]
    custom = aggregate(instances, explanations, by=lambda inst, e: "big" if e.q_input > 1 else "small")
    assert custom.get("subject", "big").indices == [2]
    with pytest.raises(InputError, match="unknown condition"):
        aggregate(instances, explanations, by="colour")
    with pytest.raises(InputError, match="no condition 'dual'"):
        by_number.get("subject", "dual")


def test_sentences_through_a_cell_and_exports():
    instances, explanations = study()
    assert sentences_through(instances, explanations, "subject", 2, 1) == [0, 2]
    assert sentences_through(instances, explanations, "subject", 1, 0) == [1]
    assert sentences_through(instances, explanations, "subject", 2, 1, by="label:subject", condition="sing") == [0]
    agg = aggregate(instances, explanations, by="label:subject")
    csv = agg.to_csv().splitlines()
    assert csv[0] == "condition,role,layer,measure,key,value"
    assert "sing,subject,2,route_share,h1,0.5" in csv
    assert "all,subject,,pattern_share,skip@subject → h1@[MASK],0.6666666666666666" in csv
    import json

    data = json.loads(agg.to_json())
    assert data["groups"]["all"]["subject"]["routes"][1] == {"skip": 1, "h1": 2}
    with pytest.raises(InputError, match="run the study first"):
        aggregate(instances, {})



@contextlib.contextmanager
def deadline(seconds):
    """Fail (instead of hanging) if the block runs longer than ``seconds``."""
    def stop(*_):
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("by", ["slot:subject", "label:subject", "callable"])
def test_a_condition_value_all_is_its_own_group(by):
    """A filler, label or callable value "all" used to join (and grow) the list it iterated: a hang."""
    instances, explanations = study()
    for inst, value in zip(instances, ["all", '"all"', "x"]):
        inst.slots["subject"] = inst.labels["subject"] = value
    condition = (lambda inst, e: inst.slots["subject"]) if by == "callable" else by
    with deadline(10):
        agg = aggregate(instances, explanations, by=condition)
        through = sentences_through(instances, explanations, "subject", 2, 1, by=condition, condition='"all"')
    assert agg.conditions == ["all", '"all"', '""all""', "x"]
    assert agg.get("subject").indices == [0, 1, 2]  # "all" is still every sentence
    assert agg.get("subject", '"all"').indices == [0] and agg.get("subject", '""all""').indices == [1]
    assert agg.get("subject", "x").indices == [2]
    assert through == [0]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def test_csv_cells_that_a_spreadsheet_would_run_are_text():
    """Roles, labels and fillers like =1+1, @sum(a1), -1+2 were bare cells (CSV injection)."""
    instances, explanations = study()
    hostile = ["=1+1", "@sum(a1)", "-1+2"]
    for inst, label in zip(instances, hostile):
        inst.labels["subject"] = label
        inst.token_roles = tuple("+cmd|' /C calc'!A0" if r == "subject" else r for r in inst.token_roles)
    agg = aggregate(instances, explanations, by="label:subject")
    rows = list(csv.reader(io.StringIO(agg.to_csv())))
    text_cells = [c for row in rows for c in row[:5]]
    assert not [c for c in text_cells if c.startswith(FORMULA_STARTS)]
    assert {"'=1+1", "'@sum(a1)", "'-1+2", "'+cmd|' /C calc'!A0"} <= set(text_cells)
    g_means = [float(row[5]) for row in rows[1:] if row[3] == "g_mean"]
    assert min(g_means) < 0  # a negative number we computed is still a number (not quoted)
