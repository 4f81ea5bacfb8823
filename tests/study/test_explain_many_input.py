"""Issue 16.12: explain_many refuses a single string instead of explaining its characters."""

import pytest

from ipyinfluence import InputError, TokenContrast, explain_many


@pytest.mark.parametrize("texts", ["the pilot [MASK] happy .", b"the pilot [MASK] happy ."])
def test_a_single_string_is_refused_with_the_fix(mlm, texts):
    with pytest.raises(InputError, match=r"list of texts.*explain_many\(model, \[text\], qoi\)"):
        explain_many(mlm, texts, TokenContrast("is", "are"), steps=2)


def test_a_list_of_one_text_is_one_explanation(mlm):
    got = explain_many(mlm, ["the pilot [MASK] happy ."], TokenContrast("is", "are"), steps=2).results()
    assert [e.text for e in got] == ["the pilot [MASK] happy ."]
