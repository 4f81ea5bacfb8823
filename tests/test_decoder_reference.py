"""Decoder GPR (SPEC §10) against explicit Jacobians of a plain float64 reference block, for
every family (Llama, Qwen2, Qwen3, Gemma 3, GPT-2; GQA, rotary, QK-norm, sliding window,
sandwich norms, biases, learned positions), both levels, both integration rules, top_k 1-3;
the SPEC §3 identities; and the decomposed forward against Hugging Face's logits."""

import pytest
import torch

from ipyinfluence import NextTokenContrast, explain
from ipyinfluence.integration import baseline_vectors
from ipyinfluence.tiny import DECODER_TINY_FAMILIES, tiny_decoder

from _decoder_reference import DecoderReference, block

TEXT = "When Mary and John went to"
QOI = NextTokenContrast(" Mary", " John")
STEPS = 4
ATOL = 1e-9


@pytest.fixture(scope="module", params=DECODER_TINY_FAMILIES)
def family(request):
    return request.param


@pytest.fixture(scope="module")
def model(family):
    return tiny_decoder(family, seed=5, dtype=torch.float64)


@pytest.fixture(scope="module", params=["paper", "gauss-legendre"])
def rule(request):
    return request.param


@pytest.fixture(scope="module")
def reference(model, rule):
    enc = model.encode(TEXT)
    ids = torch.tensor(enc.input_ids)
    x = model.weights.embeddings.word[ids].detach()
    b = baseline_vectors(model, enc)
    return DecoderReference(model, x, b, QOI.bind(model, enc), STEPS, rule)


@pytest.fixture(scope="module", params=[1, 2, 3])
def top_k(request):
    return request.param


@pytest.fixture(scope="module")
def result(model, rule, top_k):
    return explain(model, TEXT, QOI, steps=STEPS, level="attention", quadrature=rule, top_k=top_k)


@pytest.mark.parametrize("fam", DECODER_TINY_FAMILIES)
def test_decomposed_forward_equals_hugging_face_in_float32(fam):
    m = tiny_decoder(fam, seed=1, max_positions=64)
    ids = torch.tensor([m.encode("The keys to the cabinet are on the table . When Mary and John went").input_ids])
    with torch.no_grad():
        hf = m.hf_model(ids).logits
        ours = m.outputs(m.forward(m.word_vectors(ids)).hidden[-1]).logits
    assert ids.shape[1] > 3 + 1  # longer than Gemma's sliding window: the window is exercised
    torch.testing.assert_close(ours, hf, atol=1e-5, rtol=0)


def test_reference_block_equals_the_engine_forward(model):
    ids = torch.tensor(model.encode(TEXT).input_ids)
    with torch.no_grad():
        h = model.weights.embeddings.forward(model.word_vectors(ids).unsqueeze(0))[0][0]
        for lw in model.weights.layers:
            h_engine = lw.forward(h.unsqueeze(0))[0][0]
            h = block(lw, h)
            torch.testing.assert_close(h, h_engine, atol=1e-12, rtol=0)


def test_routes_decompose_the_layer_jacobian(reference):
    for s in range(reference.S):
        for l in range(reference.L):
            torch.testing.assert_close(sum(reference.JR[s][l].values()), reference.J[s][l], atol=ATOL, rtol=0)


def test_total_influence_equals_reference(result, reference):
    for w in result.words:
        assert w.total_influence == pytest.approx(reference.g(w.position), abs=ATOL)


def test_every_position_is_a_source_and_the_qoi_reads_the_last(result):
    n = len(result.tokens)
    assert [w.position for w in result.words] == list(range(n))


def test_embedding_scores_and_choices_equal_explicit_jacobians(result, reference, top_k):
    for w in result.words:
        scores, chosen = reference.embedding_gpr(w.position, top_k)
        got = [sorted(st.chosen) for st in w.embedding.steps[1:]]
        assert got == chosen[1:]
        for l in range(1, reference.L + 1):
            assert w.embedding.steps[l].scores == pytest.approx(scores[l - 1].tolist(), abs=ATOL)
        assert w.embedding.influence == pytest.approx(float(scores[-1][chosen[-1]].sum()), abs=ATOL)


def test_causal_candidates_are_never_before_the_source(result):
    t = len(result.tokens) - 1
    for w in result.words:
        kept = [st.chosen for st in w.embedding.steps]
        for before, after in zip(kept, kept[1:]):
            assert min(after) >= min(before)
        assert kept[-1] == [t]  # every pattern ends at h^L_t
        for st in w.embedding.steps[1:]:
            assert all(s == 0.0 for s in st.scores[:w.position])  # unreachable: exactly zero


def test_attention_scores_and_routes_equal_route_jacobians(result, reference, top_k):
    for w in result.words:
        positions = [sorted(st.chosen) for st in w.embedding.steps]
        ref = reference.attention_gpr(w.position, positions, top_k)
        for step, (scores, kept) in zip(w.attention.steps, ref):
            got = {(c.position, c.route): c.score for c in step.candidates}
            assert set(got) == set(scores)
            for cell in scores:
                assert got[cell] == pytest.approx(scores[cell], abs=ATOL)
            assert [(c.position, c.route) for c in step.chosen] == kept
        last_scores, last_kept = ref[-1]
        assert w.attention.influence == pytest.approx(sum(last_scores[c] for c in last_kept), abs=ATOL)


def test_layer_sum_identity(model, rule):
    res = explain(model, TEXT, QOI, steps=STEPS, level="embedding", quadrature=rule)
    for w in res.words:
        steps = w.embedding.steps
        assert sum(steps[0].scores) == pytest.approx(w.total_influence, abs=ATOL)
        for l in range(1, len(steps)):
            prev = steps[l - 1].scores[steps[l - 1].position]
            assert sum(steps[l].scores) == pytest.approx(prev, abs=ATOL)


def test_route_sum_identity(model, rule):
    res = explain(model, TEXT, QOI, steps=STEPS, level="attention", quadrature=rule)
    for w in res.words:
        a = w.attention.steps
        assert sum(c.score for c in a[0].candidates) == pytest.approx(w.embedding.influence, abs=ATOL)
        for l in range(1, len(a)):
            assert sum(c.score for c in a[l].candidates) == pytest.approx(a[l - 1].chosen[0].score, abs=ATOL)


def test_sum_over_every_path_equals_total_influence(reference):
    """SPEC §3 identity 2 on a causal graph: every single path x_i -> h^1_j1 -> ... -> q."""
    import itertools

    n, L = reference.n, reference.L
    for i in range(n):
        total = 0.0
        for path in itertools.product(range(n), repeat=L):
            for s in range(reference.S):
                v = reference.tangent0(s, i)[i]
                prev = i
                for l, j in enumerate(path):
                    v = reference.J[s][l][j, :, prev, :] @ v
                    prev = j
                total += reference.weights[s] * float(reference.G[s][L][prev] @ v)
        assert total == pytest.approx(reference.g(i), abs=1e-8)


def test_keeping_every_node_recovers_the_total_influence(model):
    n = len(model.encode(TEXT))
    res = explain(model, TEXT, QOI, steps=STEPS, level="attention", top_k=n * (model.num_heads + 1))
    for w in res.words:
        assert w.attention.influence == pytest.approx(w.total_influence, abs=ATOL)
