"""Ablation: the masked forward against a hooked Hugging Face forward, and accuracies by hand."""

import math

import pytest
import torch

from ipyinfluence import TokenContrast, explain
from ipyinfluence.metrics import ablate, ablation_accuracy, graph_nodes, node_masks, union_nodes

TEXT = "the author that the guards like [MASK] happy ."


def hf_q(model, text, good="is", bad="are", hidden=None, heads=None, skips=None):
    """q from HF's own BertForMaskedLM, with masks applied by hooks (None = keep all)."""
    hf = model.hf_model
    enc = model.encode(text)
    readout = enc.input_ids.index(model.tokenizer.mask_token_id)
    handles = []
    scale = lambda m: m.to(torch.float64).unsqueeze(-1)  # noqa: E731
    if hidden is not None:
        handles.append(hf.bert.embeddings.register_forward_hook(lambda mod, a, out: out * scale(hidden[0])))
        for l, layer in enumerate(hf.bert.encoder.layer, start=1):
            handles.append(layer.register_forward_hook(lambda mod, a, out, l=l: out * scale(hidden[l])))
    if heads is not None:
        d = model.weights.head_size
        for l, layer in enumerate(hf.bert.encoder.layer, start=1):
            def pre(mod, args, l=l):
                ctx, skip = args
                head_scale = heads[l - 1].to(torch.float64).repeat_interleave(d, dim=-1)  # (N, A*d)
                return ctx * head_scale, skip * scale(skips[l - 1])
            handles.append(layer.attention.output.register_forward_pre_hook(pre))
    try:
        with torch.no_grad():
            logits = hf(input_ids=torch.as_tensor([enc.input_ids])).logits[0, readout]
    finally:
        for h in handles:
            h.remove()
    return float(logits[model.token_id(good)] - logits[model.token_id(bad)])


def test_keeping_every_node_is_the_plain_model(mlm):
    n = len(mlm.encode(TEXT))
    reference = hf_q(mlm, TEXT)
    for level in ("embedding", "attention"):
        every = graph_nodes(mlm.num_layers, n, mlm.num_heads, level)
        r = ablate(mlm, TEXT, TokenContrast("is", "are"), every, level)
        assert r.q_original == pytest.approx(reference, rel=1e-10, abs=1e-12)
        assert r.q_ablated == pytest.approx(reference, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_embedding_level_matches_hooked_hf(mlm, seed):
    n = len(mlm.encode(TEXT))
    g = torch.Generator().manual_seed(seed)
    keep = torch.rand(mlm.num_layers + 1, n, generator=g) < 0.6
    keep[-1, 7] = True  # keep the [MASK]'s last node so q depends on the rest
    nodes = {("h", l, k) for l in range(mlm.num_layers + 1) for k in range(n) if keep[l, k]}
    r = ablate(mlm, TEXT, TokenContrast("is", "are"), nodes, "embedding")
    assert r.q_ablated == pytest.approx(hf_q(mlm, TEXT, hidden=keep), rel=1e-9, abs=1e-12)
    assert r.q_ablated != pytest.approx(r.q_original, rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_attention_level_matches_hooked_hf(mlm, seed):
    n, heads, layers = len(mlm.encode(TEXT)), mlm.num_heads, mlm.num_layers
    g = torch.Generator().manual_seed(seed)
    hidden = torch.rand(layers + 1, n, generator=g) < 0.7
    hidden[-1, 7] = True
    head_keep = torch.rand(layers, n, heads, generator=g) < 0.5
    skip_keep = torch.rand(layers, n, generator=g) < 0.5
    nodes = {("h", l, k) for l in range(layers + 1) for k in range(n) if hidden[l, k]}
    nodes |= {("a", l + 1, k, h) for l in range(layers) for k in range(n) for h in range(heads) if head_keep[l, k, h]}
    nodes |= {("s", l + 1, k) for l in range(layers) for k in range(n) if skip_keep[l, k]}
    r = ablate(mlm, TEXT, TokenContrast("is", "are"), nodes, "attention")
    assert r.q_ablated == pytest.approx(hf_q(mlm, TEXT, hidden=hidden, heads=head_keep, skips=skip_keep),
                                        rel=1e-9, abs=1e-12)
    # the same set at the embedding level ignores the head and skip nodes
    r_emb = ablate(mlm, TEXT, TokenContrast("is", "are"), nodes, "embedding")
    assert r_emb.q_ablated == pytest.approx(hf_q(mlm, TEXT, hidden=hidden), rel=1e-9, abs=1e-12)


def test_zeroed_heads_still_add_the_output_bias(mlm):
    """No head and no skip kept: z = b_O at every position, whatever the text (hand check)."""
    layers, heads = mlm.num_layers, mlm.num_heads
    masks = node_masks({("h", l, k) for l in range(layers + 1) for k in range(3)}, layers, 3, heads, "attention")
    assert not masks.heads.any() and not masks.skips.any() and masks.hidden.all()
    from ipyinfluence.metrics import masked_layer

    w = mlm.weights.layers[0]
    x = torch.randn(1, 3, mlm.weights.hidden_size, dtype=torch.float64)
    out = masked_layer(w, x, heads, masks.heads[0], masks.skips[0])
    z = w.bo.expand(1, 3, -1)
    u = torch.nn.functional.layer_norm(z, (z.shape[-1],), w.ln1_weight, w.ln1_bias, w.ln1_eps)
    y = u + torch.nn.functional.linear(w.activation(torch.nn.functional.linear(u, w.w1, w.b1)), w.w2, w.b2)
    expected = torch.nn.functional.layer_norm(y, (y.shape[-1],), w.ln2_weight, w.ln2_bias, w.ln2_eps)
    torch.testing.assert_close(out, expected)


def test_empty_set_reads_the_head_on_zeros(mlm):
    """Every h zeroed: h^L = 0, so q is the MLM head at a zero vector for any text."""
    zero = torch.zeros(1, 1, mlm.weights.hidden_size, dtype=torch.float64)
    with torch.no_grad():
        logits = mlm.hf_model.cls(zero)[0, 0]
    expected = float(logits[mlm.token_id("is")] - logits[mlm.token_id("are")])
    for text in (TEXT, "the pilots [MASK] sad ."):
        r = ablate(mlm, text, TokenContrast("is", "are"), set(), "embedding")
        assert r.q_ablated == pytest.approx(expected, rel=1e-10)


def test_accuracy_by_hand(mlm):
    """A contrast and its reverse have opposite q, before and after the same ablation:
    exactly one of the two is 'correct' each time, so both accuracies are 1/2."""
    e = explain(mlm, TEXT, TokenContrast("is", "are"), steps=3, level="attention")
    pi = union_nodes(e, "attention", sign=+1)
    instances = [(TEXT, TokenContrast("is", "are"), pi), (TEXT, TokenContrast("are", "is"), pi)]
    acc = ablation_accuracy(mlm, instances, "attention")
    assert acc.count == 2
    a, b = acc.instances
    assert a.q_original == pytest.approx(-b.q_original) and a.q_ablated == pytest.approx(-b.q_ablated)
    assert acc.original == 0.5 and acc.ablated == 0.5
    # three copies of the first instance: accuracy is 1 or 0 according to the sign of q
    acc3 = ablation_accuracy(mlm, instances[:1] * 3, "attention")
    assert acc3.original == float(a.q_original > 0) and acc3.ablated == float(a.q_ablated > 0)
    empty = ablation_accuracy(mlm, [], "embedding")
    assert empty.count == 0 and math.isnan(empty.original)
