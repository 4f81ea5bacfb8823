"""StepThrough: GPR one layer at a time, from the stored per-step scores."""

from __future__ import annotations

import pytest
import traitlets

from ipyinfluence.widgets import StepThrough
from ipyinfluence.widgets.step_through import stages


def test_stages_of_the_known_word(known):
    author = known.words[0]
    st = stages(author)
    assert [(s.level, s.layer) for s in st] == [("embedding", 0), ("embedding", 1), ("embedding", 2),
                                                ("attention", 1), ("attention", 2)]
    assert st[0].running == 0.5  # layer 0: the word's own node carries g_i
    assert [c.route for c in st[3].candidates] == ["skip", 1, 0]
    assert stages(author, level="embedding")[-1].layer == 2 and len(stages(author, "embedding")) == 3


def test_next_previous_and_what_is_shown(known):
    view = StepThrough(known)
    assert view.position == 2  # the most influential word first
    assert view.step == 0 and view.previous_button.disabled and not view.next_button.disabled
    shown = []
    for _ in range(len(view.stage_list) + 2):  # Next past the end stays on the last stage
        shown.append((view.step, view.header.value, view.candidates.value, view.rule.value))
        view.next_button.click()
    assert [s[0] for s in shown] == [0, 1, 2, 3, 4, 4, 4] and view.next_button.disabled
    assert len({s[2] for s in shown[:5]}) == 5  # every stage shows its own candidates
    assert "Attention level" in shown[4][1] and "layer 2 of 2" in shown[4][1]
    assert "head 3" in shown[4][3] and "(+1)·(+0.35)" in shown[4][3]
    view.previous_button.click()
    assert view.step == 3 and "skip" in view.rule.value
    # the chosen node is ringed on the graph, the candidates of the layer are dots
    assert list(view.chosen_dots.x) == [2.0] and list(view.chosen_dots.y) == [2]
    assert sorted(view.candidate_dots.x) == [2.0]
    view.show_word(4)
    assert view.step == 0 and "happy" in view.header.value and view.word_box.value == 4
    view.slider.value = 2  # the slider (arrow keys) drives the same state
    assert view.step == 2 and list(view.chosen_dots.x) == [3.0]
    with pytest.raises(ValueError, match="not a computed source word"):
        view.show_word(1)
    assert view.position == 4


def test_real_gpr_choices_and_running_influence(mlm):
    """On a real (tiny) model at top_k 1 and 2: each stage's chosen = the top of
    σ·score, and the running influence ends at the pattern's influence."""
    from ipyinfluence import TokenContrast, explain

    for k in (1, 2):
        expl = explain(mlm, "the guards near the author [MASK] happy .", TokenContrast("is", "are"), steps=3,
                       level="attention", top_k=k)
        view = StepThrough(expl)
        for w in expl.words:
            view.show_word(w.position)
            seen = []
            while True:
                s = view.stage
                ranked = sorted(s.candidates, key=lambda c: -w.sign * c.score)
                assert [c.score for c in s.chosen] == [c.score for c in ranked[:len(s.chosen)]]
                seen.append((s.level, s.running))
                if view.next_button.disabled:
                    break
                view.next()
            emb = [r for lvl, r in seen if lvl == "embedding"]
            att = [r for lvl, r in seen if lvl == "attention"]
            assert emb[0] == pytest.approx(w.total_influence)
            assert emb[-1] == pytest.approx(w.embedding.influence, rel=1e-6, abs=1e-12)
            assert att[-1] == pytest.approx(w.attention.influence, rel=1e-6, abs=1e-12)
            assert "pattern so far" in view.running.value


def test_streaming_and_protocol(known):
    words = list(known.words)
    known.words = []
    view = StepThrough(known)
    assert view.stage is None and "No computed word" in view.header.value and view.next_button.disabled
    view.add_word(words[1])
    assert view.stage is None  # the view protocol: add_word records, redraw draws
    view.redraw()
    assert view.position == 4 and view.stage is not None
    picked = []
    view.on_select(picked.append)
    view.add_word(words[0])
    view.redraw()
    view.word_box.value = 2
    assert picked == [2] and view.position == 2
    with pytest.raises(traitlets.TraitError, match="palette"):
        view.palette = "rainbow"
    assert view.palette == "paper" and view.stage is not None  # state kept
    view.set_explanation(None)
    assert view.stage is None
