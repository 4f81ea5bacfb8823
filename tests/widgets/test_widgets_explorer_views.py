"""The Explorer carries the coloured sentence and the GPR step-through as views: they fill
as words stream in, a click in either picks the word shown everywhere, and the rule and
palette reach them."""

import torch

from ipyinfluence import TokenContrast
from ipyinfluence.tiny import tiny_model
from ipyinfluence.widgets import Explorer

TEXT = "the author that the guards like [MASK] happy ."


def test_views_fill_and_a_word_pick_reaches_every_view(one_torch_thread):
    model = tiny_model("bert", "masked-lm", seed=1, dtype=torch.float32)
    x = Explorer(model, text=TEXT, qoi=TokenContrast("is", "are"), steps=4, background=False)
    assert x.sentence in x.views and x.step_through in x.views
    result = x.run()
    assert result is not None and result.quadrature == "gauss-legendre" and result.steps == 4
    assert x.sentence.explanation is result and x.step_through.explanation is result
    word = result.words[2]
    x._on_word_picked(word.position)  # what a click in the coloured sentence calls
    assert x.sentence.selected == word.position and x.step_through.position == word.position
    assert x.chips.selected == [word.position] and x.error == ""
    x.palette = "colorblind"
    x.level = "embedding"
    assert x.sentence.palette == x.step_through.palette == x.graph.palette == "colorblind"
    assert x.step_through.level == "embedding"


def test_the_rule_box_and_trait_agree_and_reach_the_run(one_torch_thread):
    model = tiny_model("bert", "masked-lm", seed=1, dtype=torch.float32)
    x = Explorer(model, text=TEXT, qoi=TokenContrast("is", "are"), steps=3, quadrature="paper", background=False)
    assert x.quadrature_box.value == "paper"
    x.quadrature_box.value = "gauss-legendre"
    assert x.quadrature == "gauss-legendre"
    assert x.run().quadrature == "gauss-legendre"
