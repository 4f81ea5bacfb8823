"""Issue 9, API side: non-finite QoIs and references fail fast naming where (9.2), callable
QoIs are checked (9.3), heads are deterministic in train mode for every family (9.4),
unbounded work is refused before allocating (9.5), bad arguments give ipyinfluence errors
(9.7), and the quieter surprises of 9.8."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import importlib
from ipyinfluence import ClassContrast, ClassLogit, EmbeddingSimilarity, Explanation, TokenContrast, explain
from ipyinfluence.errors import InputError, OutOfMemoryError, QoIError
from ipyinfluence.model import wrap_model
from ipyinfluence.tiny import tiny_config, tiny_model, tiny_tokenizer
from ipyinfluence.validation import FALLBACK_CPU_BYTES, available_memory

explain_module = importlib.import_module("ipyinfluence.explain")  # the package attribute is the function

TEXT = "the guards [MASK] happy ."
FAMILIES = ("bert", "roberta", "electra", "distilbert", "albert")


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    pass


@pytest.fixture(scope="module")
def mlm():
    return tiny_model("bert", "masked-lm")


@pytest.fixture(scope="module")
def enc():
    return tiny_model("bert", "encoder")


def contrast(out):
    """A correct callable QoI: logit[is] − logit[are] at the mask (position 3)."""
    logits = out.token_logits(3)
    return logits[:, 2003] - logits[:, 2024]


# -- 9.2 non-finite values -----------------------------------------------------------------

@pytest.mark.parametrize("k, where", [(0, "at the baseline"), (-1, "at the input"), (2, "at step 3 of 5")])
def test_nan_qoi_at_one_step_is_refused_naming_the_step(mlm, k, where):
    def nan_at_k(out):
        q = contrast(out)
        hit = torch.zeros_like(q, dtype=torch.bool)
        hit[k] = True
        return torch.where(hit, q * float("nan"), q)

    with pytest.raises(QoIError, match=where):
        explain(mlm, TEXT, nan_at_k, steps=5, quadrature="paper")  # the steps include both ends


def test_infinite_gradient_is_refused(mlm):
    with pytest.raises(QoIError, match="gradient .* not finite"):
        explain(mlm, TEXT, lambda out: torch.sqrt(out.last_hidden_state[:, 1, 0] * 0), steps=3)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_reference_vector_is_refused(enc, bad):
    vec = [0.5] * enc.weights.hidden_size
    vec[3] = bad
    with pytest.raises(QoIError, match=r"not finite .* entries \[3\]"):
        EmbeddingSimilarity(vec)
    with pytest.raises(QoIError, match="not finite"):
        EmbeddingSimilarity(torch.tensor(vec))


def test_non_finite_embedding_row_is_refused_naming_the_token():
    m = tiny_model("bert", "masked-lm")
    with torch.no_grad():
        m.weights.embeddings.word[m.tokenizer.convert_tokens_to_ids("guards")] = float("nan")
    with pytest.raises(InputError, match="input word vectors are not finite .*'guards'"):
        explain(m, TEXT, TokenContrast("is", "are"), steps=3)


# -- 9.3 callable QoI output -------------------------------------------------------------------

@pytest.mark.parametrize("fn, message", [
    (lambda out: contrast(out)[:1], r"shape \[5\]"),
    (lambda out: contrast(out)[:, None], r"shape \[5\]"),
    (lambda out: contrast(out).sum(), r"shape \[5\]"),
    (lambda out: torch.zeros(out.last_hidden_state.shape[0]), "does not depend"),
    (lambda out: contrast(out).detach(), "does not depend"),
    (lambda out: contrast(out)[0].item(), "not a torch tensor"),
    (lambda out: contrast(out).detach().numpy(), "not a torch tensor"),
    (lambda out: contrast(out).tolist(), "not a torch tensor"),
    (lambda out: 1.0, "not a torch tensor"),
    (lambda out: (contrast(out) > 0).long(), "floating point"),
])
def test_wrong_callable_qoi_output_is_a_qoi_error(mlm, fn, message):
    with pytest.raises(QoIError, match=message):
        explain(mlm, TEXT, fn, steps=5)


def test_a_correct_callable_equals_the_built_in(mlm):
    b = explain(mlm, TEXT, TokenContrast("is", "are"), steps=4, level="embedding")
    a = explain(mlm, TEXT, contrast, steps=4, level="embedding", sources=b.sources)
    assert [w.total_influence for w in a.words] == pytest.approx([w.total_influence for w in b.words], abs=1e-6)


# -- 9.4 heads in train mode ----------------------------------------------------------------------

@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("task", ["classification", "masked-lm"])
def test_heads_are_deterministic_in_train_mode(family, task):
    m = tiny_model(family, task, hidden_dropout_prob=0.5) if family != "distilbert" else \
        tiny_model(family, task, dropout=0.5, seq_classif_dropout=0.5)
    text = "the movie was good ." if task == "classification" else TEXT.replace("[MASK]", m.mask_token)
    qoi = ClassContrast(1, 0) if task == "classification" else TokenContrast("is", "are")
    reference = explain(m, text, qoi, steps=3, level="embedding").to_dict()
    m.hf_model.train()
    assert explain(m, text, qoi, steps=3, level="embedding").to_dict() == reference
    assert explain(m, text, qoi, steps=3, level="embedding").to_dict() == reference
    assert m.hf_model.training and all(x.training for x in m.hf_model.modules())  # the caller's mode is kept


# -- 9.5 unbounded work ---------------------------------------------------------------------------------

@pytest.mark.parametrize("steps, text", [(10**7, TEXT), (2 * 10**5, " ".join(["the guards like it ."] * 10) + " [MASK]")])
def test_huge_steps_are_refused_before_allocating(mlm, steps, text):
    with pytest.raises(OutOfMemoryError, match=f"steps={steps} .* use (at most about \\d+ steps|a shorter text)"):
        explain(mlm, text, TokenContrast("is", "are"), steps=steps, quadrature="paper")  # GL stops at 1024 nodes


# -- 9.7 bad arguments -------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: TokenContrast(None, "are"), lambda: TokenContrast(5, "are"), lambda: TokenContrast("is", "are", 1.5),
    lambda: TokenContrast("is", "are", True), lambda: ClassContrast(None, 0), lambda: ClassContrast(0.5, 1),
    lambda: ClassContrast(True, 0), lambda: ClassLogit(1.0), lambda: EmbeddingSimilarity(None),
    lambda: EmbeddingSimilarity(""), lambda: EmbeddingSimilarity({"a": 1}),
])
def test_bad_qoi_arguments_are_qoi_errors(make):
    with pytest.raises(QoIError):
        make()


def test_numpy_integers_are_fine_as_class_indices():
    assert ClassContrast(np.int64(1), 0).a == 1


@pytest.mark.parametrize("kwargs", [dict(sources=1.0), dict(sources={1: 2}), dict(method="random:" + str(2**70)),
                                    dict(method="random:-1")])
def test_bad_explain_arguments_are_input_errors(mlm, kwargs):
    with pytest.raises(InputError):
        explain(mlm, TEXT, TokenContrast("is", "are"), steps=3, **kwargs)


def test_tokenizer_larger_than_the_vocabulary_is_an_input_error():
    import transformers as tf

    hf = tf.BertForMaskedLM(tiny_config("bert", 1000)).eval()
    m = wrap_model(hf, tiny_tokenizer(), device="cpu")
    with pytest.raises(InputError, match="outside the model's vocabulary of 1000"):
        explain(m, "the zebra [MASK] .", TokenContrast("the", "a"), steps=3)


def test_mixed_dtypes_or_devices_are_input_errors():
    m = tiny_model("bert", "masked-lm")
    m.hf_model.bert.encoder.layer[1].to(torch.float64)
    with pytest.raises(InputError, match="mix dtypes or devices"):
        explain(m, TEXT, TokenContrast("is", "are"), steps=3)
    m.hf_model.bert.encoder.layer[1].to(torch.float32).to("meta")
    with pytest.raises(InputError, match="meta"):
        explain(m, TEXT, TokenContrast("is", "are"), steps=3)


@pytest.mark.parametrize("text", ["{}", "[]", "not json", '{"text": "x"}', "null"])
def test_explanation_from_bad_json_is_an_input_error(text):
    with pytest.raises(InputError):
        Explanation.from_json(text)


def test_json_is_strict(mlm):
    e = explain(mlm, TEXT, TokenContrast("is", "are"), steps=3)
    e.words[0].total_influence = float("nan")
    with pytest.raises(InputError, match="non-finite"):
        e.to_json()


def test_explanation_with_a_damaged_word_is_an_input_error(mlm):
    d = explain(mlm, TEXT, TokenContrast("is", "are"), steps=3).to_dict()
    d["words"][0].pop("embedding")
    with pytest.raises(InputError, match=r"not an Explanation: words\[0\] .*embedding"):
        Explanation.from_dict(d)


# -- 9.8 quieter surprises -----------------------------------------------------------------------------------

def test_to_after_wrapping_is_followed():
    m = tiny_model("bert", "masked-lm")
    want = explain(m, TEXT, TokenContrast("is", "are"), steps=3)
    before = torch.__future__.get_overwrite_module_params_on_conversion()
    torch.__future__.set_overwrite_module_params_on_conversion(True)  # .to() makes new Parameter objects
    try:
        m.hf_model.to(torch.float64)
    finally:
        torch.__future__.set_overwrite_module_params_on_conversion(before)
    got = explain(m, TEXT, TokenContrast("is", "are"), steps=3)
    assert got.config["dtype"] == "float64" and m.weights.layers[0].wq.dtype == torch.float64
    assert got.q_input == pytest.approx(want.q_input, rel=1e-5)


def test_cpu_default_chunk_follows_free_memory(mlm, monkeypatch):
    assert available_memory(torch.device("cpu")) != FALLBACK_CPU_BYTES
    rows = []
    for free in (2**30, 8 * 2**30):
        monkeypatch.setattr(explain_module, "available_memory", lambda _d, free=free: free)
        rows.append(explain_module.default_rows(mlm, 20, 51))
    assert rows[1] > 3 * rows[0] > 0
