"""The Marvin & Linzen templates, generated in code, reproduce LM_syneval's pairs exactly."""

from __future__ import annotations

import pytest
from task_reference_data import read_marvin_linzen

from ipyinfluence.tasks import marvin_linzen

CASES = {"obj_rel_across_anim": 11200, "subj_rel": 11200, "sent_comp": 1680, "prep_anim": 16800,
         "reflexives_across": 22400}


@pytest.mark.parametrize("case", CASES)
def test_generated_pairs_equal_the_reference_file_row_by_row(shared_data, case):
    reference = read_marvin_linzen(shared_data, case)
    generated = [(case, p.source_type, p.good, p.bad) for p in marvin_linzen.sentence_pairs(case)]
    assert len(reference) == CASES[case]
    assert set(generated) == set(reference)  # the full set of (type, good, bad) per case ...
    assert generated == reference  # ... and even LM_syneval's order


@pytest.mark.parametrize("case", CASES)
def test_pairs_differ_in_the_target_word_only(case):
    for pair in marvin_linzen.sentence_pairs(case):
        differing = [i for i, (g, b) in enumerate(zip(pair.good_words, pair.bad_words)) if g != b]
        assert differing == [pair.target]
        assert len(pair.word_roles) == len(pair.good_words)
        assert pair.word_roles[pair.target] == ("anaphor" if case == "reflexives_across" else "verb")


def test_sentence_types_name_subject_then_attractor_number():
    pair = next(p for p in marvin_linzen.sentence_pairs("sent_comp") if p.sentence_type == "sing_plur")
    # sent_comp: the matrix subject ("mechanics") is the attractor, the embedded subject agrees.
    assert pair.good == "the mechanics said the author laughs" and pair.bad == "the mechanics said the author laugh"
    assert pair.source_type == "sing_MS_MV_plur_BS"
    assert pair.word_roles == ("attractor_det", "attractor", "matrix_verb", "subject_det", "subject", "verb")
