"""ContrastBy for decoders: ``qoi=NextTokenContrast`` orients the next-token contrast by a slot's label."""

import pytest
import torch

from ipyinfluence import NextTokenContrast, Study, TokenContrast, load_model
from ipyinfluence.study import ContrastBy, SentenceSet

# A decoder template has no [MASK]: the QoI reads the token after the last one.
TEMPLATE = "The {subject} that the {attractor}"
WORDS = {"subject": {"sing": ["author", "pilot"], "plur": ["guards"]}, "attractor": ["senator", "actor"]}
AGREE = ContrastBy("subject", {"sing": (" is", " are"), "plur": (" are", " is")}, qoi=NextTokenContrast)


@pytest.fixture(scope="module")
def decoder():
    return load_model("tiny-llama")


def test_the_default_still_builds_token_contrasts():
    plain = ContrastBy("subject", {"sing": ("is", "are")})
    assert plain.qoi is TokenContrast


def test_next_token_contrast_follows_the_label(decoder):
    s = SentenceSet.from_template(TEMPLATE, WORDS, decoder, AGREE)
    assert len(s) == 6
    for i, inst in enumerate(s):
        expected = (" is", " are") if inst.labels["subject"] == "sing" else (" are", " is")
        assert s.qoi(i) == NextTokenContrast(*expected)
        assert AGREE(inst) == NextTokenContrast(*expected)


def test_a_study_reads_the_next_token_logits(decoder):
    s = SentenceSet.from_template(TEMPLATE, WORDS, decoder, AGREE)
    study = Study(decoder, s, steps=3, level="embedding", baseline=None).run()
    assert study.complete
    vocab = decoder.tokenizer.get_vocab()
    for i, inst in enumerate(s):
        ids = decoder.tokenizer(inst.text, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            logits = decoder.hf_model(input_ids=ids).logits[0, -1]
        good, bad = (vocab[decoder.tokenizer.tokenize(w)[0]] for w in (inst.good, inst.bad))
        assert study.explanations[i].q_input == pytest.approx(float(logits[good] - logits[bad]), abs=1e-4)
