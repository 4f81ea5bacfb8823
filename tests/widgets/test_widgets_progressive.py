"""Progressive mode in the Explorer: a few-step preview of every word first, then the exact run."""

from ipyinfluence import TokenContrast, explain
from ipyinfluence.widgets import Explorer

MLM_TEXT = "the guards [MASK] happy ."  # as in conftest.py


def test_preview_is_drawn_first_then_replaced_by_the_exact_result(mlm):
    ex = Explorer(mlm, text=MLM_TEXT, qoi=TokenContrast("is", "are"), steps=7, preview_steps=2)
    seen = []
    # when the first exact word arrives, the graph already holds every word (previews for the rest)
    ex.on_word(lambda w: seen.append((len(ex.graph.explanation.words), ex.graph.explanation.steps)))
    result = ex.run()
    n = len(result.sources)
    assert seen[0] == (n, 7)
    assert result.steps == 7 and result.complete
    assert ex.graph.explanation is result
    direct = explain(mlm, MLM_TEXT, TokenContrast("is", "are"), steps=7, max_batch=7, quadrature=ex.quadrature)
    assert result == direct


def test_preview_off_by_default_and_bad_input_still_safe(mlm):
    ex = Explorer(mlm, text=MLM_TEXT, qoi=TokenContrast("is", "are"), steps=3)
    assert ex.preview_steps == 0
    first = ex.run()
    ex.preview_steps = 2
    ex.text = "no mask in this text ."
    ex.run()
    assert ex.error and ex.explanation is first  # the earlier result stays


def test_cancel_in_the_exact_stage_keeps_the_exact_words_and_the_previews_drawn(mlm):
    ex = Explorer(mlm, text=MLM_TEXT, qoi=TokenContrast("is", "are"), steps=7, preview_steps=2)
    ex.on_word(lambda w: ex.cancel() if ex.words_done == 1 else None)  # after the first exact word
    result = ex.run()
    n = len(result.sources)
    assert ex.status.startswith(f"Cancelled after 1 of {n}") and not ex.running
    assert len(result.words) == 1 and result.steps == 7 and ex.explanation is result
    # the graph keeps the preview of every other word, the exact one in its place
    shown = {w.position: w for w in ex.graph.explanation.words}
    assert len(shown) == n and shown[result.words[0].position] == result.words[0]
