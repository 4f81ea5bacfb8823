"""Instances plug into the engine: their QoI binds to a model and reads the prediction at the mask."""

from __future__ import annotations

import pytest

from ipyinfluence.qoi import TokenContrast
from ipyinfluence.tasks import generate


@pytest.fixture(scope="module")
def tiny_mlm():
    from ipyinfluence.tiny import tiny_model

    return tiny_model("bert", "masked-lm", seed=0)


@pytest.mark.parametrize("task", ["sva-obj", "sva-subj", "sva-wsc", "sva-app", "ra-number", "ra-gender"])
def test_qoi_binds_at_the_mask(tokenizer, tiny_mlm, task):
    instance = generate(task, 4, tokenizer, seed=0)[1]
    assert instance.qoi() == TokenContrast(instance.good, instance.bad)
    encoded = tiny_mlm.encode(instance.text)
    bound = instance.qoi().bind(tiny_mlm, encoded)
    assert bound.readout_position == instance.mask_index
    assert len(encoded.input_ids) == len(instance.token_roles)


def test_text_and_roles_of_one_instance(tokenizer):
    x = next(i for i in generate("sva-obj", None, tokenizer) if i.good_sentence == "the author that the guards like is tall")
    assert x.text == x.text_masked == "the author that the guards like [MASK] tall"
    assert (x.good, x.bad, x.bad_sentence) == ("is", "are", "the author that the guards like are tall")
    assert (x.case, x.sentence_type, x.source_type) == ("obj_rel_across_anim", "sing_plur", "sing_MS_MV_plur_ES_EV")
    assert x.word_roles == ("subject_det", "subject", "complementizer", "attractor_det", "attractor", "embedded_verb",
                            "verb", "adjective")
    assert x.role_positions() == {"[CLS]": (0,), "subject_det": (1,), "subject": (2,), "complementizer": (3,),
                                  "attractor_det": (4,), "attractor": (5,), "embedded_verb": (6,), "verb": (7,),
                                  "adjective": (8,), "[SEP]": (9,)}
