"""generate(): the paper's filters (single-WordPiece contrast, one layout per task), even and seeded sampling."""

from __future__ import annotations

from collections import Counter

import pytest
from task_reference_data import read_marvin_linzen

from ipyinfluence.errors import InputError
from ipyinfluence.tasks import GENDER_TYPES, NUMBER_TYPES, TASKS, filtered_instances, generate
from ipyinfluence.tasks import opensesame

ML_TASKS = {"sva-obj": "obj_rel_across_anim", "sva-subj": "subj_rel", "sva-wsc": "sent_comp", "sva-app": "prep_anim",
            "ra-number": "reflexives_across"}

# Measured under BERT uncased: how many reference pairs pass the filters, per sentence type
# (sing_sing, sing_plur, plur_sing, plur_plur). Singular types lose "admires" (admire ##s),
# every type loses "swims" (swim ##s) and, for RA, "congratulated".
FILTERED = {
    "sva-obj": (1080, 1440, 1080, 1440),
    "sva-subj": (1080, 1080, 1440, 1440),
    "sva-wsc": (240, 240, 240, 240),
    "sva-app": (720, 720, 720, 720),
    "ra-number": (3240, 4320, 3240, 4320),
}

# The layout each task keeps (the most common one), without [CLS]/[SEP].
LAYOUTS = {
    "sva-obj": "subject_det subject complementizer attractor_det attractor embedded_verb verb adjective",
    "sva-subj": "subject_det subject complementizer embedded_verb attractor_det attractor verb adjective",
    "sva-wsc": "attractor_det attractor matrix_verb subject_det subject verb adjective",
    # prep_anim ties 2880 to 2880 between two-word ("next to", "across from") and one-word ("behind",
    # "near") prepositions; the first in template order wins.
    "sva-app": "subject_det subject preposition preposition attractor_det attractor verb adjective",
    "ra-number": "subject_det subject complementizer attractor_det attractor embedded_verb verb anaphor",
}


def test_registry_lists_the_papers_tasks():
    assert list(TASKS) == ["sva-obj", "sva-subj", "sva-wsc", "sva-app", "ra-number", "ra-gender", "sa"]
    assert all(TASKS[t].model_task == "masked-lm" for t in list(TASKS)[:6]) and TASKS["sa"].model_task == "classification"


@pytest.mark.parametrize("task", ML_TASKS)
def test_filtered_counts_per_type(tokenizer, task):
    kept = filtered_instances(task, tokenizer)
    counts = Counter(x.sentence_type for x in kept)
    assert tuple(counts[t] for t in NUMBER_TYPES) == FILTERED[task]


@pytest.mark.parametrize("task", ML_TASKS)
def test_one_layout_and_single_piece_contrast(tokenizer, task):
    kept = filtered_instances(task, tokenizer)
    layout = ("[CLS]", *LAYOUTS[task].split(), "[SEP]")
    target_role = "anaphor" if task.startswith("ra") else "verb"
    assert all(x.token_roles == layout for x in kept)  # hence one length and one mask index per task
    for x in kept[::7]:  # re-tokenizing one by one is the slow part; every 7th covers all words
        ids = tokenizer(x.text)["input_ids"]
        assert len(ids) == len(x.token_roles)
        assert ids.index(tokenizer.mask_token_id) == x.mask_index == layout.index(target_role)
        assert len(tokenizer.tokenize(x.good)) == len(tokenizer.tokenize(x.bad)) == 1
        assert x.good != x.bad


@pytest.mark.parametrize("task", ML_TASKS)
def test_filtered_set_is_the_reference_rows_of_that_layout(tokenizer, shared_data, task):
    """The relationship to the TSV, stated independently of the code: the kept pairs are exactly the rows
    whose words are all single WordPieces and whose words have the kept layout's shape."""
    case = ML_TASKS[task]
    one_piece = {}

    def single(word):
        if word not in one_piece:
            one_piece[word] = len(tokenizer.tokenize(word)) == 1
        return one_piece[word]

    def shape_ok(good, bad):
        g = good.split()
        diff = [i for i, (a, b) in enumerate(zip(g, bad.split())) if a != b]
        if task == "ra-number":
            return len(g) == 8
        if task == "sva-app":  # two-word preposition, one-word attractor, "is/are ADJ"
            return len(g) == 8 and g[2] != "to" and g[3] != "the" and g[diff[0]] in ("is", "are")
        return len(g) == len(LAYOUTS[task].split()) and g[diff[0]] in ("is", "are")

    expected = {(g, b) for _, _, g, b in read_marvin_linzen(shared_data, case)
                if all(single(w) for w in g.split() + b.split()) and shape_ok(g, b)}
    kept = {(x.good_sentence, x.bad_sentence) for x in filtered_instances(task, tokenizer)}
    assert kept == expected


@pytest.mark.parametrize("task", list(ML_TASKS) + ["ra-gender"])
def test_generate_is_even_interleaved_and_seeded(tokenizer, task):
    types = GENDER_TYPES if task == "ra-gender" else NUMBER_TYPES
    a = generate(task, 42, tokenizer, seed=7)
    assert len(a) == 42
    assert Counter(x.sentence_type for x in a) == {types[0]: 11, types[1]: 11, types[2]: 10, types[3]: 10}
    assert [x.sentence_type for x in a[:8]] == list(types) * 2  # every prefix is balanced
    assert len({x.text + x.bad for x in a}) == 42  # no repeats
    assert len({x.token_roles for x in a}) == 1
    assert generate(task, 42, tokenizer, seed=7) == a
    assert generate(task, 42, tokenizer, seed=8) != a


def test_ra_gender_instances(tokenizer):
    instances = generate("ra-gender", 24, tokenizer, seed=1)
    for x in instances:
        case, pair = opensesame.parse(x.good_sentence)
        assert case == "obj_rel" and pair.sentence_type == x.sentence_type and pair.source_type == x.source_type
        subject_gender = x.sentence_type.split("_")[0]
        assert (x.good, x.bad) == (("himself", "herself") if subject_gender == "masc" else ("herself", "himself"))
        assert x.token_roles[x.mask_index] == "anaphor" and len(x.token_roles) == 12
    assert {x.source_type for x in instances if x.sentence_type in ("masc_masc", "fem_fem")} == {"refl.3"}
    assert {x.source_type for x in instances if x.sentence_type in ("masc_fem", "fem_masc")} == {"refl.4"}
    other = generate("ra-gender", 8, tokenizer, case="main_obj")
    assert len(other[0].token_roles) == 13 and other[0].token_roles[-3:] == ("by", "anaphor", "[SEP]")


def test_generate_all_and_errors(tokenizer):
    assert len(generate("sva-wsc", None, tokenizer)) == 960
    with pytest.raises(InputError, match=r"n <= 4320"):
        generate("sva-obj", 5000, tokenizer)  # 1080 sing_sing instances cap an even sample at 4 x 1080
    with pytest.raises(InputError, match="unknown task"):
        generate("sva-nope", 4, tokenizer)
    with pytest.raises(InputError, match="case="):
        generate("sva-obj", 4, tokenizer, case="obj_rel")
    with pytest.raises(InputError, match="give n"):
        generate("ra-gender", None, tokenizer)
