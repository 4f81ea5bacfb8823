"""Decoders (SPEC §10) through the public API: QoIs, baselines, sources, clear errors,
explain_many, JSON, and the refusal of architectures the engine cannot map."""

import math

import pytest
import torch

from ipyinfluence import (
    Explanation,
    InputError,
    NextTokenContrast,
    NextTokenLogProb,
    QoIError,
    TokenContrast,
    UnsupportedModelError,
    explain,
    explain_many,
    load_model,
)
from ipyinfluence.integration import baseline_vectors
from ipyinfluence.tiny import tiny_decoder

TEXT = "When Mary and John went to the store , John gave a drink to"
QOI = NextTokenContrast(" Mary", " John")


@pytest.fixture(scope="module")
def llama():
    return tiny_decoder("llama", seed=2, dtype=torch.float64)


def test_named_tiny_decoders_load():
    for name in ("tiny-llama", "tiny-qwen2", "tiny-qwen3", "tiny-gemma3", "tiny-gpt2", "tiny-decoder"):
        m = load_model(name)
        assert m.task == "causal-lm" and m.causal and "random" in m.note


def test_default_baseline_is_a_token_and_the_influences_add_up(llama):
    e = explain(llama, TEXT, QOI, steps=32, quadrature="gauss-legendre")
    assert e.baseline == "<|endoftext|>"
    delta = e.q_input - e.q_baseline
    assert abs(sum(w.total_influence for w in e.words) - delta) < 1e-3 * abs(delta)


def test_the_last_word_is_a_source_and_every_pattern_ends_at_it(llama):
    e = explain(llama, TEXT, QOI, steps=4)
    n = len(e.tokens)
    assert e.sources == list(range(n)) and e.readout_position is None
    assert all(w.embedding.positions[-1] == n - 1 for w in e.words)


def test_next_token_qois_read_the_hf_logits(llama):
    enc = llama.encode(TEXT)
    ids = torch.tensor([enc.input_ids])
    with torch.no_grad():
        logits = llama.hf_model(ids).logits[0, -1]
    mary, john = llama.token_id(" Mary"), llama.token_id(" John")
    # HF computes RMSNorm in float32 even in a float64 model: agreement to float32 precision
    e = explain(llama, TEXT, QOI, steps=2, level="embedding", sources=[0])
    assert e.q_input == pytest.approx(float(logits[mary] - logits[john]), abs=1e-6)
    lp = explain(llama, TEXT, NextTokenLogProb(" Mary"), steps=2, level="embedding", sources=[0])
    assert lp.q_input == pytest.approx(float(torch.log_softmax(logits, -1)[mary]), abs=1e-6)


def test_a_word_of_several_tokens_is_refused_with_its_pieces_and_the_space_hint(llama):
    with pytest.raises(InputError, match=r"'Mary' is 1 tokens|After a space"):
        explain(llama, TEXT, NextTokenContrast("Mary", " John"), steps=2)
    with pytest.raises(InputError, match=r"' Marylebone' is \d+ tokens \['ĠMary'"):
        explain(llama, TEXT, NextTokenContrast(" Marylebone", " John"), steps=2)


def test_masked_lm_qoi_on_a_decoder_names_the_right_qoi(llama):
    with pytest.raises(QoIError, match="NextTokenContrast"):
        explain(llama, TEXT, TokenContrast("is", "are"), steps=2)


def test_counterfactual_baseline_is_the_other_texts_rows(llama):
    enc = llama.encode(TEXT)
    other = "When Alice and Bob went to the store , Bob gave a drink to"
    b = baseline_vectors(llama, enc, other)
    ids = torch.tensor(llama.encode(other).input_ids)
    assert torch.equal(b, llama.weights.embeddings.word[ids])
    e = explain(llama, TEXT, QOI, steps=16, quadrature="gauss-legendre", baseline=other)
    assert e.baseline == other
    # only the changed names move from the counterfactual to the input: the rest have x = b
    for w in e.words:
        if enc.tokens[w.position] not in ("ĠMary", "ĠJohn"):
            assert w.total_influence == 0.0


def test_counterfactual_of_another_length_is_refused(llama):
    with pytest.raises(InputError, match=r"counterfactual baseline .* is \d+ tokens .* same token length"):
        explain(llama, TEXT, QOI, steps=2, baseline="When Alice went to the store")


def test_counterfactual_baseline_works_for_encoders_too():
    from ipyinfluence.tiny import tiny_model

    m = tiny_model("bert", "masked-lm", seed=1, dtype=torch.float64)
    text, cf = "the author [MASK] happy .", "the pilot [MASK] sad ."
    e = explain(m, text, TokenContrast("is", "are"), steps=4, baseline=cf)
    enc = m.encode(text)
    changed = {2, 4}  # author -> pilot, happy -> sad ([CLS] at 0, [MASK] at 3 is the readout)
    assert [w.position for w in e.words if w.total_influence != 0.0] == [p for p in range(len(enc)) if p in changed]


def test_bos_keeps_its_own_vector_and_has_no_influence():
    m = tiny_decoder("llama", seed=3, dtype=torch.float64, bos=True)
    e = explain(m, TEXT, QOI, steps=4)
    assert e.tokens[0] == "<|endoftext|>"
    assert e.words[0].total_influence == 0.0
    b = baseline_vectors(m, m.encode(TEXT), "zero")
    assert torch.equal(b[0], m.weights.embeddings.word[0]) and bool((b[1:] == 0).all())


def test_a_text_over_the_context_length_is_refused():
    m = tiny_decoder("gpt2", max_positions=8)
    with pytest.raises(InputError, match="at most 8 positions"):
        explain(m, TEXT, QOI, steps=2)


def test_explain_many_equals_explain_on_decoders(llama):
    texts = [TEXT, "When John and Mary went to the store , Mary gave a drink to", "The keys to the cabinet"]
    qois = [QOI, NextTokenContrast(" John", " Mary"), NextTokenContrast(" are", " is")]
    got = dict(explain_many(llama, texts, qois, steps=4, top_k=2))
    for i, (t, q) in enumerate(zip(texts, qois)):
        ref = explain(llama, t, q, steps=4, top_k=2)
        assert [w.embedding.positions for w in got[i].words] == [w.embedding.positions for w in ref.words]
        assert [w.attention.routes for w in got[i].words] == [w.attention.routes for w in ref.words]
        for a, b in zip(got[i].words, ref.words):
            assert a.total_influence == pytest.approx(b.total_influence, abs=1e-10)


def test_decoder_explanation_round_trips_json(llama):
    e = explain(llama, TEXT, QOI, steps=4, top_k=2)
    again = Explanation.from_json(e.to_json())
    assert again.to_json() == e.to_json()


def test_comparison_methods_run_on_decoders(llama):
    for method in ("attention", "conductance", "internal_influence", "random"):
        e = explain(llama, "The keys to the cabinet", NextTokenContrast(" are", " is"), steps=4, method=method)
        assert len(e.words) == len(e.tokens)
        assert all(math.isfinite(w.embedding.influence) for w in e.words)
        if method != "random":  # the others choose among GPR's causal candidates and end at the read position
            for w in e.words:
                pos = w.embedding.positions
                assert pos == sorted(pos) and pos[0] == w.position and pos[-1] == len(e.tokens) - 1, (method, pos)


@pytest.mark.parametrize("make, name", [
    (lambda tf: tf.T5ForConditionalGeneration(tf.T5Config(vocab_size=50, d_model=16, d_kv=4, d_ff=16, num_layers=1,
                                                          num_heads=2)), "encoder–decoder"),
    (lambda tf: tf.MixtralForCausalLM(tf.MixtralConfig(vocab_size=50, hidden_size=16, intermediate_size=16,
                                                       num_hidden_layers=1, num_attention_heads=2,
                                                       num_key_value_heads=1, num_local_experts=2)), "mixture-of-experts"),
    (lambda tf: tf.GPTNeoXForCausalLM(tf.GPTNeoXConfig(vocab_size=50, hidden_size=16, intermediate_size=16,
                                                       num_hidden_layers=1, num_attention_heads=2)), "parallel"),
])
def test_unmappable_architectures_are_refused_by_name(make, name):
    import transformers as tf

    from ipyinfluence.tiny import tiny_decoder_tokenizer

    with pytest.raises(UnsupportedModelError, match=name):
        load_model((make(tf), tiny_decoder_tokenizer()))
