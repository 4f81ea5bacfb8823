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


def test_collapsed_step_through_draws_its_figure_when_opened(one_torch_thread):
    model = tiny_model("bert", "masked-lm", seed=1, dtype=torch.float32)
    x = Explorer(model, text=TEXT, qoi=TokenContrast("is", "are"), steps=3, background=False)
    st = x.step_through
    assert x.step_through_box.selected_index is None and st.graph_shown is False
    result = x.run()
    # the text parts follow the run; the figure (out of sight) was not drawn
    assert st.word is not None and st.word.token in st.header.value
    assert len(st.grid.x) == 0 and len(st.candidate_dots.x) == 0
    x.step_through_box.selected_index = 0  # opened: drawn at once
    assert st.graph_shown is True
    n, layers = len(result.tokens), result.num_layers
    assert len(st.grid.x) == n * (layers + 2) + 1 and len(st.candidate_dots.x) > 0
    x.step_through_box.selected_index = None
    x.palette = "colorblind"  # collapsed again: a change waits for the next opening
    before = list(st.candidate_dots.colors)
    x.step_through_box.selected_index = 0
    assert list(st.candidate_dots.colors) != before
