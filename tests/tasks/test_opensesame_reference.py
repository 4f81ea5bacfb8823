"""The Open Sesame reflexive templates generate every refl.3 / refl.4 sentence, and nothing wider."""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import pytest

from ipyinfluence.tasks import opensesame
from ipyinfluence.tasks import opensesame_words as words


def _rows(shared_data, name):
    for line in (shared_data / "opensesame" / f"{name}.tsv").read_text().splitlines():
        sentence, anaphor, subject, attractor = line.split("\t")
        yield sentence, int(anaphor), tuple(map(int, subject.split())), tuple(map(int, attractor.split()))


@pytest.fixture(scope="module")
def parsed(shared_data):
    """file -> [(case, pair, reference anaphor index, subject span, attractor span)]"""
    return {name: [(*opensesame.parse(s), a, subj, att) for s, a, subj, att in _rows(shared_data, name)]
            for name in ("refl.3", "refl.4")}


def test_every_reference_sentence_is_generated_with_the_files_spans(shared_data, parsed):
    for name, rows in parsed.items():
        sentences = [s for s, *_ in _rows(shared_data, name)]
        assert len(rows) == 10000 and len(set(sentences)) == 10000
        for sentence, (case, pair, anaphor, subject, attractor) in zip(sentences, rows):
            template = opensesame.TEMPLATES[case]
            assert pair.good == sentence  # render(parse(s)) == s
            assert pair.source_type == name  # refl.3: same gender, refl.4: the other gender
            assert (anaphor, subject, attractor) == (template.anaphor_index, template.span("subject"),
                                                     template.span("attractor"))
            assert pair.bad.split()[-1] != sentence.split()[-1]


def test_template_shares_in_the_reference(parsed):
    counts = {name: Counter(case for case, *_ in rows) for name, rows in parsed.items()}
    assert counts == {"refl.3": {"main_obj": 5015, "obj_rel": 2521, "subj_rel": 2464},
                      "refl.4": {"main_obj": 5107, "obj_rel": 2441, "subj_rel": 2452}}


def test_each_slots_word_list_is_exactly_what_the_reference_uses(parsed):
    seen: dict[tuple[str, int], set[str]] = defaultdict(set)
    for rows in parsed.values():
        for case, pair, *_ in rows:
            for i, word in enumerate(pair.good_words[:-1]):
                seen[case, i].add(word)
    nouns = set(words.MASCULINE_NOUNS) | set(words.FEMININE_NOUNS)
    for case, template in opensesame.TEMPLATES.items():
        for i, slot in enumerate(template.slots):
            assert seen[case, i] == (nouns if slot.gender_of else set(slot.words)), (case, slot.role)


def test_space_sizes_and_the_reference_is_a_sample_of_them():
    # 6 det x 26 subjects x 2 complementizers x 6 det x 13 attractors (gender fixed by the file) x 4 x 9 x 4 x 9
    for case in opensesame.TEMPLATES:
        assert opensesame.space_size(case, same_gender=True) == 31_539_456
        assert opensesame.space_size(case, same_gender=False) == 31_539_456


def test_sampled_pairs_parse_back_to_their_template_and_type():
    rng = random.Random(3)
    for case in opensesame.TEMPLATES:
        for subject in opensesame.GENDERS:
            for attractor in opensesame.GENDERS:
                pairs = opensesame.sample_pairs(case, subject, attractor, 25, rng)
                assert len({p.good for p in pairs}) == 25
                for pair in pairs:
                    parsed_case, again = opensesame.parse(pair.good)
                    assert parsed_case == case and again == pair
                    assert pair.sentence_type == f"{subject}_{attractor}"
                    assert pair.good_words[-1] == words.ANAPHOR_BY_GENDER[subject]


def test_parse_rejects_sentences_outside_the_templates():
    assert opensesame.parse("the king who the queen will hurt will clean herself") is None  # wrong anaphor
    assert opensesame.parse("the king who the dog will hurt will clean himself") is None  # unknown noun
    assert opensesame.parse("the king will clean himself") is None
