"""explain_many equals explain per sentence: same choices, scores within 1e-6 (fp32)."""

import pytest
import torch

from ipyinfluence import ClassContrast, EmbeddingSimilarity, InputError, QoIError, TokenContrast, explain, \
    explain_many
from ipyinfluence.gpr import prepare
from ipyinfluence.integration import alphas, baseline_vectors
from ipyinfluence.study.explain_many import _StackedQoI, slice_prepared
from ipyinfluence.tiny import tiny_model

TEXTS = [  # lengths 11, 7, 11, 7, 9: three groups, input order mixed
    "the author that the guards like [MASK] happy .",
    "the pilots [MASK] sad .",
    "the authors that the guard hates [MASK] happy .",
    "the pilot [MASK] happy .",
    "the dancers near him [MASK] sad .",
]


def assert_same(a, b, rtol=1e-6):
    """b (explain_many) is a (explain): identical choices, scores within rtol of the layer's scale."""
    assert (a.text, a.tokens, a.sources, a.qoi, a.readout_position) == (b.text, b.tokens, b.sources, b.qoi,
                                                                        b.readout_position)
    scale = max(abs(a.q_input), abs(a.q_baseline), 1e-30)
    assert b.q_input == pytest.approx(a.q_input, rel=rtol, abs=rtol * scale)
    assert b.q_baseline == pytest.approx(a.q_baseline, rel=rtol, abs=rtol * scale)
    assert [w.position for w in a.words] == [w.position for w in b.words]
    for wa, wb in zip(a.words, b.words):
        assert [s.chosen for s in wa.embedding.steps] == [s.chosen for s in wb.embedding.steps]
        g = max(abs(wa.total_influence), 1e-30)
        assert wb.total_influence == pytest.approx(wa.total_influence, rel=rtol, abs=rtol * g)
        for sa, sb in zip(wa.embedding.steps, wb.embedding.steps):
            top = max(abs(x) for x in sa.scores)
            assert sb.scores == pytest.approx(sa.scores, rel=rtol, abs=rtol * top)
        if wa.attention is None:
            assert wb.attention is None
            continue
        for sa, sb in zip(wa.attention.steps, wb.attention.steps):
            assert [(c.position, c.route) for c in sa.chosen] == [(c.position, c.route) for c in sb.chosen]
            top = max(abs(c.score) for c in sa.candidates)
            assert [c.score for c in sb.candidates] == pytest.approx([c.score for c in sa.candidates], rel=rtol,
                                                                     abs=rtol * top)


@pytest.mark.parametrize("family", ["bert", "roberta", "electra", "albert", "distilbert"])
def test_equals_explain_for_every_family_with_mixed_lengths(family):
    model = tiny_model(family=family, seed=1)
    mask = model.mask_token
    texts = [t.replace("[MASK]", mask) for t in TEXTS]
    qoi = TokenContrast("is", "are")
    stream = explain_many(model, texts, qoi, steps=4, batch_sentences=2)
    assert stream.total == len(texts)
    got = dict(stream)
    assert stream.done == len(texts) and sorted(got) == list(range(len(texts)))
    for i, t in enumerate(texts):
        assert_same(explain(model, t, qoi, steps=4), got[i])


def test_stream_order_groups_lengths_in_input_order(mlm):
    order = [i for i, _ in explain_many(mlm, TEXTS, TokenContrast("is", "are"), steps=3, level="embedding")]
    assert order == [0, 2, 1, 3, 4]  # length 11 first (first seen), then 7, then 9


@pytest.mark.parametrize("task", ["classification", "encoder"])
@pytest.mark.parametrize("dtype, rtol", [(torch.float32, 1e-6), (torch.float64, 1e-9)])
def test_other_heads_and_options(task, dtype, rtol):
    model = tiny_model(task=task, seed=2, dtype=dtype)
    texts = ["the movie is not bad .", "a great film .", "the plot is boring .", "the actors are fun ."]
    qoi = ClassContrast("positive", "negative") if task == "classification" else EmbeddingSimilarity("a good movie")
    opts = dict(steps=5, top_k=2, baseline="pad", max_batch=10)
    many = explain_many(model, texts, qoi, batch_sentences=3, **opts).results()
    for t, e in zip(texts, many):
        assert_same(explain(model, t, qoi, **opts), e, rtol=rtol)


def test_per_text_qois_and_sources(mlm):
    qois = [TokenContrast("is", "are"), TokenContrast("are", "is"), TokenContrast("is", "are"),
            TokenContrast("are", "is"), TokenContrast("are", "is")]
    many = explain_many(mlm, TEXTS, qois, steps=3, sources=[1, 2], level="embedding").results()
    for t, q, e in zip(TEXTS, qois, many):
        assert e.sources == [1, 2]
        assert_same(explain(mlm, t, q, steps=3, sources=[1, 2], level="embedding"), e)


def test_a_sentence_set_brings_its_own_qois(mlm):
    from ipyinfluence.study import ContrastBy, SentenceSet

    s = SentenceSet.from_template("the {subject} [MASK] happy .", {"subject": {"sing": ["pilot"], "plur": ["pilots"]}},
                                  mlm, ContrastBy("subject", {"sing": ("is", "are"), "plur": ("are", "is")}))
    sing, plur = explain_many(mlm, s, steps=3, level="embedding").results()
    assert sing.qoi == explain(mlm, s[0].text, TokenContrast("is", "are"), steps=3).qoi
    assert plur.qoi == explain(mlm, s[1].text, TokenContrast("are", "is"), steps=3).qoi


def test_baseline_methods_take_the_exact_per_sentence_path(mlm):
    many = explain_many(mlm, TEXTS[:2], TokenContrast("is", "are"), steps=3, method="attention").results()
    for t, e in zip(TEXTS, many):
        ref = explain(mlm, t, TokenContrast("is", "are"), steps=3, method="attention")
        assert e.to_dict() == ref.to_dict()


def test_sliced_prepare_is_the_per_sentence_prepare(mlm64):
    """The stacked pass, sliced, against prepare on each sentence alone (float64: ~exact)."""
    model, steps = mlm64, 4
    texts = [TEXTS[0], TEXTS[2]]
    encs = [model.encode(t) for t in texts]
    bounds = [TokenContrast("is", "are").bind(model, e) for e in encs]
    xs = [model.word_vectors(torch.as_tensor(e.input_ids)) for e in encs]
    bs = [baseline_vectors(model, e, "mask") for e in encs]
    a = alphas(steps, dtype=model.dtype)
    stacked = prepare(model, torch.stack(xs).repeat_interleave(steps, 0), torch.stack(bs).repeat_interleave(steps, 0),
                      _StackedQoI(model, bounds, steps), a.repeat(2))
    for m in range(2):
        alone = prepare(model, xs[m], bs[m], bounds[m], a)
        cut = slice_prepared(stacked, m, steps, 2, a, xs[m] - bs[m])
        torch.testing.assert_close(cut.q, alone.q, rtol=1e-12, atol=1e-12)
        for g1, g2 in zip(cut.grads, alone.grads):
            torch.testing.assert_close(g1, g2, rtol=1e-10, atol=1e-12)
        for c1, c2 in zip(cut.forward.layers, alone.forward.layers):
            torch.testing.assert_close(c1.probs, c2.probs, rtol=1e-10, atol=1e-12)
            torch.testing.assert_close(c1.ln2.rstd, c2.ln2.rstd, rtol=1e-10, atol=1e-12)
            assert c1.ln1.weight is c2.ln1.weight or torch.equal(c1.ln1.weight, c2.ln1.weight)


def test_bad_input_names_the_sentence(mlm):
    with pytest.raises(QoIError, match=r"sentence 1 \('the pilots are sad \.'\).*\[MASK\]"):
        explain_many(mlm, ["the pilot [MASK] sad .", "the pilots are sad ."], TokenContrast("is", "are"), steps=3)
    with pytest.raises(InputError, match="2 QoIs for 3 texts"):
        explain_many(mlm, TEXTS[:3], [TokenContrast("is", "are")] * 2)
    with pytest.raises(InputError, match="steps"):
        explain_many(mlm, TEXTS[:1], TokenContrast("is", "are"), steps=1, quadrature="paper")
    with pytest.raises(InputError, match="at least one text"):
        explain_many(mlm, [], TokenContrast("is", "are"))
    with pytest.raises(InputError, match="batch_sentences"):
        explain_many(mlm, TEXTS[:1], TokenContrast("is", "are"), batch_sentences=0)
