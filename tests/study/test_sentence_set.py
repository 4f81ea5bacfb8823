"""Sentence sets: templates (product and seeded samples), roles, contrasts, and clear errors."""

import warnings

import pytest

from ipyinfluence import InputError, TokenContrast
from ipyinfluence.study import ContrastBy, DuplicateSentencesWarning, SentenceInstance, SentenceSet

TEMPLATE = "the {subject} that the {attractor} {verb} [MASK] happy ."
WORDS = {"subject": {"sing": ["author", "pilot"], "plur": ["authors", "pilots"]},
         "attractor": {"sing": ["guard"], "plur": ["guards"]}, "verb": ["like", "hate", "love"]}
AGREE = ContrastBy("subject", {"sing": ("is", "are"), "plur": ("are", "is")})


def test_product_fills_every_combination_with_roles(mlm):
    s = SentenceSet.from_template(TEMPLATE, WORDS, mlm, AGREE)
    assert len(s) == 4 * 2 * 3
    assert len(set(s.texts)) == len(s)
    first = s[0]
    assert first.text == "the author that the guard like [MASK] happy ."
    assert first.token_roles == ("[CLS]", "the", "subject", "that", "the_2", "attractor", "verb", "[MASK]", "happy",
                                 ".", "[SEP]")
    assert first.slots == {"subject": "author", "attractor": "guard", "verb": "like"}
    assert first.labels == {"subject": "sing", "attractor": "sing"} and first.sentence_type == "sing_sing"
    for inst in s:
        enc = mlm.encode(inst.text)
        assert len(enc.tokens) == len(inst.token_roles)
        assert enc.tokens[inst.position("subject")] == inst.slots["subject"]
        assert enc.tokens[inst.position("verb")] == inst.slots["verb"]
    # the QoI follows the subject's number, oriented correct − wrong
    plural = next(i for i, inst in enumerate(s) if inst.labels["subject"] == "plur")
    assert s.qoi(0) == TokenContrast("is", "are") and s.qoi(plural) == TokenContrast("are", "is")


def test_sampling_is_seeded_and_distinct(mlm):
    a = SentenceSet.from_template(TEMPLATE, WORDS, mlm, AGREE, n=10, seed=3)
    b = SentenceSet.from_template(TEMPLATE, WORDS, mlm, AGREE, n=10, seed=3)
    c = SentenceSet.from_template(TEMPLATE, WORDS, mlm, AGREE, n=10, seed=4)
    assert a.texts == b.texts and a.texts != c.texts
    assert len(set(a.texts)) == 10
    assert set(a.texts) <= set(SentenceSet.from_template(TEMPLATE, WORDS, mlm, AGREE).texts)
    with pytest.raises(InputError, match="only 24 distinct"):
        SentenceSet.from_template(TEMPLATE, WORDS, mlm, AGREE, n=25)


def test_bad_templates_name_the_problem(mlm):
    with pytest.raises(InputError, match=r"filler 'xylophonist' is \d+ WordPieces \['x', '##yl"):
        SentenceSet.from_template(TEMPLATE, {**WORDS, "verb": ["like", "xylophonist"]}, mlm)
    with pytest.raises(InputError, match="must be a whole word"):
        SentenceSet.from_template("the {subject}s [MASK] happy .", {"subject": ["author"]}, mlm)
    with pytest.raises(InputError, match=r"no word list for slot\(s\) \['verb'\]"):
        SentenceSet.from_template(TEMPLATE, {k: v for k, v in WORDS.items() if k != "verb"}, mlm)
    with pytest.raises(InputError, match="name no slot"):
        SentenceSet.from_template(TEMPLATE, {**WORDS, "object": ["cat"]}, mlm)
    with pytest.raises(InputError, match="has no"):
        SentenceSet.from_template("the author [MASK] happy .", {}, mlm)
    with pytest.raises(InputError, match="one word"):
        SentenceSet.from_template(TEMPLATE, {**WORDS, "verb": ["look at"]}, mlm)
    with pytest.raises(InputError, match=r"no contrast for 'dual'"):
        SentenceSet.from_template(TEMPLATE, {**WORDS, "subject": {"dual": ["author"]}}, mlm, AGREE)


def test_texts_with_and_without_roles(mlm):
    s = SentenceSet.from_texts(["the cat [MASK] happy .", "the the dog [MASK] sad ."], mlm, TokenContrast("is", "are"))
    assert s[0].token_roles == ("[CLS]", "the", "cat", "[MASK]", "happy", ".", "[SEP]")
    assert s[1].token_roles[1:4] == ("the", "the_2", "dog")
    r = SentenceSet.from_texts(["the xylophonist [MASK] happy ."], mlm, TokenContrast("is", "are"),
                               roles=[["det", "subject", "mask", "adj", "end"]])
    assert r[0].role_positions()["subject"] == tuple(range(2, 2 + len(mlm.tokenizer.tokenize("xylophonist"))))
    with pytest.raises(InputError, match=r"sentence 0 .* has 5 words but 2 roles"):
        SentenceSet.from_texts(["the cat [MASK] happy ."], mlm, roles=[["a", "b"]])
    with pytest.raises(InputError, match="no sentences"):
        SentenceSet.from_texts(["  ", ""], mlm)
    with pytest.raises(InputError, match="has no QoI"):
        SentenceSet.from_texts(["the cat [MASK] happy ."], mlm).qoi(0)


def test_task_generator_and_round_trip(mlm):
    s = SentenceSet.from_task("sva-obj", 8, mlm.tokenizer, seed=0)
    assert len(s) == 8 and {i.sentence_type for i in s} == {"sing_sing", "sing_plur", "plur_sing", "plur_plur"}
    inst = s[0]
    assert inst.labels["subject"] == inst.sentence_type.split("_")[0]
    assert s.qoi(0) == TokenContrast(inst.good, inst.bad)
    assert "subject" in inst.role_positions()
    back = SentenceSet.from_dict(s.to_dict())
    assert [i.to_dict() for i in back] == [i.to_dict() for i in s]
    assert SentenceInstance.from_dict(inst.to_dict()) == inst


def test_fillers_with_the_same_input_ids_are_one_sentence(mlm):
    """Two emoji both become [UNK]: the same input, once (it was counted twice)."""
    words = {"subject": ["😀", "🐍", "author"], "verb": ["like", "hate"]}
    with pytest.warns(DuplicateSentencesWarning, match=r"2 of 6 sentences dropped.*'the 😀 .*'the 🐍 .*\[UNK\]"):
        s = SentenceSet.from_template("the {subject} that we {verb} [MASK] happy .", words, mlm)
    assert s.texts == ["the 😀 that we like [MASK] happy .", "the 😀 that we hate [MASK] happy .",
                       "the author that we like [MASK] happy .", "the author that we hate [MASK] happy ."]
    with pytest.warns(DuplicateSentencesWarning, match="1 of 3 sentences dropped"):
        t = SentenceSet.from_texts(["a 🎉 [MASK] .", "b [MASK] .", "a 🎈 [MASK] ."], mlm)
    assert t.texts == ["a 🎉 [MASK] .", "b [MASK] ."]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # distinct sentences: no warning
        assert len(SentenceSet.from_texts(["a [MASK] .", "b [MASK] ."], mlm)) == 2
