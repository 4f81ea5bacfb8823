"""explain / iter_explain: the public contract, streaming, JSON, and clear errors."""

import json

import pytest
import torch

import ipyinfluence as ii
from ipyinfluence import ClassContrast, EmbeddingSimilarity, Explanation, TokenContrast, explain, iter_explain
from ipyinfluence.errors import InputError, QoIError
from ipyinfluence.tiny import tiny_model

TEXT = "the author that the guards like [MASK] happy ."


@pytest.fixture(scope="module")
def mlm():
    return tiny_model("bert", "masked-lm", seed=0)


@pytest.fixture(scope="module")
def clf():
    return tiny_model("distilbert", "classification", seed=0)


@pytest.fixture(scope="module")
def enc():
    return tiny_model("bert", "encoder", seed=0)


def test_explanation_fields(mlm):
    e = explain(mlm, TEXT, TokenContrast("is", "are"), steps=5)
    n = len(e.tokens)
    assert e.tokens[0] == "[CLS]" and e.tokens[-1] == "[SEP]"
    assert e.readout_position == e.tokens.index("[MASK]")
    assert e.sources == [i for i in range(n) if i != e.readout_position]
    assert [w.position for w in e.words] == e.sources
    for w in e.words:
        assert w.token == e.tokens[w.position]
        assert w.sign == (1 if w.total_influence >= 0 else -1)
        assert len(w.embedding.positions) == mlm.num_layers + 1
        assert w.embedding.positions[0] == w.position
        assert all(len(s.scores) == n for s in w.embedding.steps)
        assert len(w.attention.routes) == mlm.num_layers
        assert all(r == "skip" or 0 <= r < mlm.num_heads for r in w.attention.routes)
    assert e.complete


def test_json_round_trip_is_exact(mlm):
    e = explain(mlm, TEXT, TokenContrast("is", "are"), steps=4, top_k=2)
    text = e.to_json()
    back = Explanation.from_json(text)
    assert back == e
    assert back.to_json() == text
    json.loads(text)  # plain JSON


def test_stream_yields_words_as_they_complete(mlm):
    stream = iter_explain(mlm, TEXT, TokenContrast("is", "are"), steps=3, max_batch=3)
    assert stream.explanation.tokens and stream.done == 0
    first = next(stream)
    assert stream.done == 1 and stream.explanation.words == [first]
    rest = list(stream)
    assert stream.done == stream.total == 1 + len(rest)


def test_chunking_does_not_change_results(mlm):
    a = explain(mlm, TEXT, TokenContrast("is", "are"), steps=4, max_batch=4)
    b = explain(mlm, TEXT, TokenContrast("is", "are"), steps=4, max_batch=10_000)
    for wa, wb in zip(a.words, b.words):
        assert wa.embedding.positions == wb.embedding.positions
        assert wa.attention.routes == wb.attention.routes
        assert wa.total_influence == pytest.approx(wb.total_influence, rel=1e-5, abs=1e-9)


def test_sources_by_token_and_position(mlm):
    e = explain(mlm, TEXT, TokenContrast("is", "are"), steps=3, sources=["author", 1], level="embedding")
    assert [w.token for w in e.words] == ["author", "the"]
    assert all(w.attention is None for w in e.words)


def test_classifier_and_encoder_qois(clf, enc):
    e = explain(clf, "the movie was not good .", ClassContrast("positive", "negative"), steps=3)
    assert e.readout_position is None and len(e.sources) == len(e.tokens)
    e2 = explain(enc, "the movie was not good .", EmbeddingSimilarity("a great film"), steps=3)
    assert -1.0 <= e2.q_input <= 1.0
    e3 = explain(clf, "the movie was not good .", lambda out: out.logits[:, 1], steps=3, level="embedding")
    assert e3.q_input == pytest.approx(float(clf.run("the movie was not good .").logits[0, 1]), abs=1e-5)


def test_baselines(mlm):
    for baseline in ii.BASELINES + ("[UNK]",):
        e = explain(mlm, TEXT, TokenContrast("is", "are"), steps=3, baseline=baseline, level="embedding")
        assert e.baseline == baseline
    zero = explain(mlm, TEXT, TokenContrast("is", "are"), steps=3, baseline="zero", level="embedding")
    mask = explain(mlm, TEXT, TokenContrast("is", "are"), steps=3, baseline="mask", level="embedding")
    assert zero.q_baseline != mask.q_baseline
    assert zero.q_input == pytest.approx(mask.q_input)


# -- bad input: a clear error, and no half-result -----------------------------------

@pytest.mark.parametrize(
    "text, qoi, kwargs, error, match",
    [
        ("", TokenContrast("is", "are"), {}, InputError, "empty"),
        ("   ", TokenContrast("is", "are"), {}, InputError, "empty"),
        ("the author is happy .", TokenContrast("is", "are"), {}, QoIError, r"needs a \[MASK\]"),
        ("the [MASK] is [MASK] .", TokenContrast("is", "are"), {}, QoIError, r"2 \[MASK\] tokens"),
        (TEXT, TokenContrast("unbelievably", "are"), {}, InputError, r"WordPieces \['un"),
        (TEXT, ClassContrast(0, 1), {}, QoIError, "needs a classification model"),
        (TEXT, TokenContrast("is", "are"), {"steps": 1, "quadrature": "paper"}, InputError, "at least 2"),
        (TEXT, TokenContrast("is", "are"), {"level": "neuron"}, InputError, "level must be"),
        (TEXT, TokenContrast("is", "are"), {"sources": ["zebra"]}, InputError, "not a token"),
        (TEXT, TokenContrast("is", "are"), {"sources": [7]}, InputError, "where the QoI reads"),
        (TEXT, TokenContrast("is", "are"), {"baseline": "unbelievably"}, InputError, "Baselines"),
        (TEXT, TokenContrast("is", "are"), {"top_k": 0}, InputError, "top_k"),
        (TEXT, TokenContrast("is", "are"), {"max_batch": 0}, InputError, "max_batch"),
        (TEXT, "is", {}, QoIError, "is not a QoI"),
    ],
)
def test_bad_input_is_refused_before_any_result(mlm, text, qoi, kwargs, error, match):
    with pytest.raises(error, match=match):
        iter_explain(mlm, text, qoi, **kwargs)


def test_text_longer_than_the_model(mlm):
    long = " ".join(["the"] * 80) + " [MASK] ."
    with pytest.raises(InputError, match="at most 64 positions; shorten it"):
        explain(mlm, long, TokenContrast("is", "are"), steps=2)


def test_qoi_that_does_not_fit_the_head(clf, enc):
    with pytest.raises(QoIError, match="masked-lm"):
        explain(clf, TEXT, TokenContrast("is", "are"), steps=2)
    with pytest.raises(QoIError, match="not one of the model's labels"):
        explain(clf, "good .", ClassContrast("positive", "neutral"), steps=2)
    with pytest.raises(QoIError, match="entries"):
        explain(enc, "good .", EmbeddingSimilarity([1.0, 2.0]), steps=2)
    with pytest.raises(QoIError, match="one scalar per batch row"):
        explain(clf, "good .", lambda out: out.logits, steps=2)


def test_out_of_memory_retries_with_smaller_chunks(mlm, monkeypatch):
    """A chunk that raises an out-of-memory error is halved and retried; results are unchanged."""
    import importlib

    ex = importlib.import_module("ipyinfluence.explain")

    real = ex.ExplanationStream._compute
    sizes = []

    def flaky(self, part):
        sizes.append(len(part))
        if len(part) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1 GiB")
        return real(self, part)

    monkeypatch.setattr(ex.ExplanationStream, "_compute", flaky)
    e = explain(mlm, TEXT, TokenContrast("is", "are"), steps=3, max_batch=3 * 8)
    assert sizes[:3] == [8, 4, 2] and max(sizes[3:]) <= 2
    assert [w.position for w in e.words] == e.sources
    monkeypatch.setattr(ex.ExplanationStream, "_compute",
                        lambda self, part: (_ for _ in ()).throw(torch.OutOfMemoryError("out of memory")))
    with pytest.raises(ii.OutOfMemoryError, match="fewer steps"):
        explain(mlm, TEXT, TokenContrast("is", "are"), steps=3)
