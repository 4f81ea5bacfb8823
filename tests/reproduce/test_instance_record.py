"""The per-instance function and the stable instance lists."""

from __future__ import annotations

from collections import Counter

import pytest

from ipyinfluence import explain
from ipyinfluence.qoi import ClassContrast
from ipyinfluence.reproduce import record_words, run_instance, task_instances, task_qoi

from _reproduce_helpers import STEPS, write_sst2_sample


@pytest.fixture(scope="module")
def mlm():
    from ipyinfluence.tiny import tiny_model

    return tiny_model(task="masked-lm")


@pytest.mark.parametrize("task", ["sva-obj", "ra-gender"])
def test_instances_are_prefix_stable_and_balanced(mlm, task):
    six = task_instances(task, 6, mlm.tokenizer, seed=0)
    assert task_instances(task, 4, mlm.tokenizer, seed=0) == six[:4]
    assert task_instances(task, 4, mlm.tokenizer, seed=1) != six[:4]
    counts = Counter(x.sentence_type for x in task_instances(task, 8, mlm.tokenizer, seed=0))
    assert sorted(counts.values()) == [2, 2, 2, 2]


def test_record_baselines_are_explains_own(mlm):
    instance = task_instances("sva-subj", 1, mlm.tokenizer)[0]
    record = run_instance(mlm, instance, 0, steps=STEPS, baselines=["conductance"], random_runs=1)
    assert set(record["methods"]) == {"gpr", "conductance", "random:0"}
    for method in record["methods"]:
        ours = record_words(record, method)
        theirs = explain(mlm, instance.text, instance.qoi(), steps=STEPS, method=method, quadrature="paper").words
        assert [w.embedding.positions for w in ours] == [w.embedding.positions for w in theirs]
        assert [w.attention.routes for w in ours] == [w.attention.routes for w in theirs]
        assert [w.attention.influence for w in ours] == pytest.approx([w.attention.influence for w in theirs],
                                                                      rel=1e-5, abs=1e-9)
    assert record["ablation"]["original"] == pytest.approx(record["q"]["input"], rel=1e-5)
    kept, total = record["path_share"]["embedding"]
    assert 0 <= kept <= total


def test_sa_quantity_of_interest_follows_the_gold_label(tmp_path):
    from ipyinfluence.tiny import tiny_model

    clf = tiny_model(task="classification")
    instances = task_instances("sa", 4, clf.tokenizer, sst2=write_sst2_sample(tmp_path))
    assert {x.label for x in instances} == {0, 1}
    for x in instances:
        assert task_qoi(x) == ClassContrast(x.label, 1 - x.label)
    record = run_instance(clf, instances[0], 0, steps=2, baselines=[], random_runs=0)
    flipped = explain(clf, instances[0].text, ClassContrast(1 - instances[0].label, instances[0].label), steps=2,
                      level="embedding")
    assert record["q"]["input"] == pytest.approx(-flipped.q_input, rel=1e-5)
    assert set(record["ablation"]) == {"original", "gpr", "replace_skip"}
