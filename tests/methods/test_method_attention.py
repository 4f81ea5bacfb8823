"""The attention baseline against brute force over every path, on HF's own attentions."""

import itertools
import math

import pytest
import torch

from ipyinfluence import ClassContrast, InputError, TokenContrast, explain, iter_explain
from ipyinfluence.methods import attention_patterns


def hf_attentions(model, text):
    ids = torch.as_tensor([model.encode(text).input_ids])
    with torch.no_grad():
        out = model.hf_model.base_model(input_ids=ids, output_attentions=True)
    return [a[0] for a in out.attentions]  # per layer (A, N, N), rows = queries


def augmented(a):
    n = a.shape[-1]
    m = 0.5 * torch.eye(n, dtype=a.dtype) + 0.5 * a.mean(0)
    return m / m.sum(-1, keepdim=True)


def brute_force(weights, source, readout):
    """Heaviest path by enumeration; weights[l-1][k, j] weighs h^{l-1}_j -> h^l_k."""
    n, layers = weights[0].shape[0], len(weights)
    best, best_path = -1.0, None
    for middle in itertools.product(range(n), repeat=layers - 1):
        path = (source,) + middle + (readout,)
        w = math.prod(float(weights[l][path[l + 1], path[l]]) for l in range(layers))
        if w > best:
            best, best_path = w, path
    return best_path[1:], best


def test_path_is_the_brute_force_max_product_path(mlm, stream, text):
    probs = hf_attentions(mlm, text)
    weights = [augmented(a) for a in probs]
    readout = stream.bound.readout_position
    src = torch.as_tensor(stream.sources)
    emb, att = attention_patterns(mlm, stream.prep, src, level="embedding", readout=readout)
    assert att is None
    transposed_differs = False
    for w, i in enumerate(stream.sources):
        path, best = brute_force(weights, i, readout)
        got = tuple(int(emb.chosen[l][w, 0]) for l in range(1, mlm.num_layers + 1))
        assert got == path, f"source {i}"
        # the criterion at the readout is the log-weight of the best path
        assert math.isclose(float(emb.criterion[-1][w, readout]), math.log(best), rel_tol=1e-9)
        transposed_differs |= brute_force([m.T for m in weights], i, readout)[0] != path
    # the test can tell the edge direction apart: reading the transpose changes some path
    assert transposed_differs


def test_criterion_is_best_path_through_each_node(mlm, stream, text):
    weights = [augmented(a) for a in hf_attentions(mlm, text)]
    readout = stream.bound.readout_position
    i = stream.sources[2]
    emb, _ = attention_patterns(mlm, stream.prep, torch.tensor([i]), level="embedding", readout=readout)
    n = weights[0].shape[0]
    for l in (1, 2):
        for e in range(n):
            best = max(
                math.prod(float(weights[m][p[m + 1], p[m]]) for m in range(3))
                for p in ((i,) + mid + (readout,) for mid in itertools.product(range(n), repeat=2))
                if p[l] == e
            )
            assert math.isclose(float(emb.criterion[l][0, e]), math.log(best), rel_tol=1e-9)


def test_attention_level_routes(mlm, stream, text):
    probs = hf_attentions(mlm, text)
    src = torch.as_tensor(stream.sources)
    emb, att = attention_patterns(mlm, stream.prep, src, level="attention", readout=stream.bound.readout_position)
    heads = mlm.num_heads
    saw_head = saw_skip = False
    for w in range(len(stream.sources)):
        for l in range(1, mlm.num_layers + 1):
            j, k = int(emb.chosen[l - 1][w, 0]), int(emb.chosen[l][w, 0])
            pos, route = divmod(int(att.chosen[l - 1][w, 0]), heads + 1)
            assert pos == k
            if j == k:
                assert route == 0
                saw_skip = True
            else:
                assert route - 1 == int(torch.argmax(probs[l - 1][:, k, j]))
                saw_head = True
    assert saw_head and saw_skip


def test_classifier_reads_position_zero(classifier):
    text = "a good movie ."
    e = explain(classifier, text, ClassContrast("positive", "negative"), steps=3, method="attention", level="embedding")
    weights = [augmented(a) for a in hf_attentions(classifier, text)]
    for w in e.words:
        path, _ = brute_force(weights, w.position, 0)
        assert tuple(w.embedding.positions[1:]) == path
        assert w.embedding.positions[-1] == 0


def test_attention_refuses_top_k(mlm, text):
    with pytest.raises(InputError, match="top_k=1"):
        iter_explain(mlm, text, TokenContrast("is", "are"), method="attention", top_k=2)
