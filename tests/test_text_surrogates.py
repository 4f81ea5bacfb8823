"""Issue 16.17: a lone surrogate in the text is an InputError, not the tokenizer's raw TypeError."""

from __future__ import annotations

import pytest

from ipyinfluence import InputError, TokenContrast, explain, explain_many
from ipyinfluence.tiny import tiny_model


@pytest.fixture(scope="module")
def mlm():
    return tiny_model("bert", "masked-lm", hidden=16, heads=2, intermediate=20)


@pytest.mark.parametrize("text,where", [("the \ud800 [MASK] .", r"U\+D800 at character 4"),
                                        ("the author [MASK] \udfff", r"U\+DFFF at character 18")])
def test_a_lone_surrogate_in_the_text_is_named(mlm, text, where, one_torch_thread):
    with pytest.raises(InputError, match=f"the text holds a lone surrogate {where}"):
        explain(mlm, text, TokenContrast("is", "are"), steps=3)
    with pytest.raises(InputError, match="sentence 1 .*lone surrogate"):
        explain_many(mlm, ["the author [MASK] .", text], TokenContrast("is", "are"), steps=3)


def test_a_lone_surrogate_in_a_qoi_word_is_named(mlm, one_torch_thread):
    with pytest.raises(InputError, match=r"contrast word .*lone surrogate U\+D83D"):
        explain(mlm, "the author [MASK] .", TokenContrast("is", "\ud83d"), steps=3)


def test_a_whole_emoji_is_fine(mlm, one_torch_thread):
    assert explain(mlm, "the author [MASK] 🙂 .", TokenContrast("is", "are"), steps=3).complete
