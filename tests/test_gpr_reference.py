"""GPR against slow references built from explicit Jacobians of the Hugging Face modules.

The reference never touches the engine's linearisations: it runs ``BertEmbeddings`` and
``BertLayer`` themselves, takes full Jacobians with ``torch.autograd.functional.jacobian``
at every integration step, and restricts paths by masking positions and by detaching
every route but one inside a re-assembled layer. Float64 throughout, tolerance 1e-9.
Every integration rule is checked: the reference weights its steps with the rule's
weights, computed here with numpy, not by the engine.
"""

import itertools
import math

import numpy as np
import pytest
import torch

from _jacobian_paths import JacobianPaths

from ipyinfluence import TokenContrast, explain
from ipyinfluence.tiny import tiny_model

TEXT = "the guards like [MASK] ."
STEPS = 5
ATOL = 1e-9


@pytest.fixture(scope="module")
def model():
    return tiny_model("bert", "masked-lm", seed=3, dtype=torch.float64, layers=3)


def _route_layer(layer, x, route, heads):
    """A BertLayer where only ``route`` ("skip" or a head) sees ``x``; the rest see a constant copy."""
    xd = x.detach()
    sa = layer.attention.self
    n, hsz = x.shape
    d = hsz // heads

    def split(t):
        return t.reshape(n, heads, d).transpose(0, 1)

    live = [split(sa.query(x)), split(sa.key(x)), split(sa.value(x))]
    const = [split(sa.query(xd)), split(sa.key(xd)), split(sa.value(xd))]
    ctx = []
    for h in range(heads):
        q, k, v = (t[h] for t in (live if route == h else const))
        ctx.append(torch.softmax(q @ k.T / math.sqrt(d), -1) @ v)
    attn = layer.attention.output.dense(torch.cat(ctx, -1))
    u = layer.attention.output.LayerNorm(attn + (x if route == "skip" else xd))
    return layer.output(layer.intermediate(u), u)


def rule_points(rule: str, steps: int) -> tuple[list[float], list[float]]:
    if rule == "paper":
        return np.linspace(0, 1, steps).tolist(), [1.0 / steps] * steps
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return ((nodes + 1) / 2).tolist(), (weights / 2).tolist()


class Reference(JacobianPaths):
    """Per-step Jacobians of one text: embeddings, each layer, each route of each layer."""

    def __init__(self, m, text, qoi, steps, rule="paper"):
        hf = m.hf_model
        enc = m.encode(text)
        self.bound = qoi.bind(m, enc)
        ids = torch.tensor(enc.input_ids)
        word = m.weights.embeddings.word.detach()
        x, b = word[ids], word[m.tokenizer.mask_token_id].expand(len(ids), -1)
        self.d = x - b
        self.n, self.heads = len(ids), m.num_heads
        layers = hf.bert.encoder.layer
        emb = lambda e: hf.bert.embeddings(inputs_embeds=e.unsqueeze(0))[0]
        q_of = lambda h: self.bound(m.outputs(h.unsqueeze(0)))[0]
        self.J_emb, self.J, self.JR, self.G, self.dqdx = [], [], [], [], []
        alphas, self.weights = rule_points(rule, steps)
        for a in alphas:
            e = b + a * (x - b)
            hs = [emb(e)]
            for layer in layers:
                hs.append(layer(hs[-1].unsqueeze(0))[0])
            jac = torch.autograd.functional.jacobian
            self.J_emb.append(jac(emb, e))  # (N, H, N, E)
            self.J.append([jac(lambda v, L=L: L(v.unsqueeze(0))[0], hs[i]) for i, L in enumerate(layers)])
            self.JR.append([
                {r: jac(lambda v, L=L, r=r: _route_layer(L, v, r, self.heads), hs[i])
                 for r in ["skip", *range(self.heads)]}
                for i, L in enumerate(layers)
            ])
            e_req = e.clone().requires_grad_(True)
            h = emb(e_req)
            hl = [h]
            for layer in layers:
                h = layer(h.unsqueeze(0))[0]
                hl.append(h)
            grads = torch.autograd.grad(q_of(h), [e_req, *hl])
            self.dqdx.append(grads[0])
            self.G.append(list(grads[1:]))
        self.S = steps
        self.L = len(layers)

    def embedding_gpr(self, i):
        """SPEC §4.1 with explicit Jacobians: per-layer scores (N,) and choices."""
        ts = [self.tangent0(s, i) for s in range(self.S)]
        sign = 1.0 if self.g(i) >= 0 else -1.0
        scores, chosen = [], [i]
        for l in range(1, self.L + 1):
            ts = [self.push(self.J[s][l - 1], ts[s]) for s in range(self.S)]
            sc = sum(self.weights[s] * (ts[s] * self.G[s][l]).sum(-1) for s in range(self.S))
            j = int(torch.argmax(sign * sc))
            keep = torch.zeros(self.n, 1, dtype=torch.float64)
            keep[j] = 1
            ts = [t * keep for t in ts]
            scores.append(sc)
            chosen.append(j)
        return scores, chosen

    def attention_gpr(self, i, positions):
        """SPEC §4.2 with per-route Jacobians: per layer {route: score} and the choice."""
        sign = 1.0 if self.g(i) >= 0 else -1.0
        onehot = lambda j: torch.nn.functional.one_hot(torch.tensor(j), self.n).to(torch.float64)[:, None]
        # restricted downstream gradients along the embedding-level suffix
        ws = []
        for s in range(self.S):
            w = [None] * (self.L + 1)
            w[self.L] = self.G[s][self.L] * onehot(positions[self.L])
            for l in range(self.L, 0, -1):
                w[l - 1] = self.pull(self.J[s][l - 1], w[l]) * onehot(positions[l - 1])
            ws.append(w)
        ts = [self.tangent0(s, i) for s in range(self.S)]
        out = []
        for l in range(1, self.L + 1):
            j, k = positions[l - 1], positions[l]
            routes = (["skip"] if j == k else []) + list(range(self.heads))
            contrib = {r: [self.push(self.JR[s][l - 1][r], ts[s]) * onehot(k) for s in range(self.S)] for r in routes}
            scores = {r: sum(self.weights[s] * float((contrib[r][s] * ws[s][l]).sum()) for s in range(self.S))
                      for r in routes}
            best = max(routes, key=lambda r: sign * scores[r])  # first max: the skip wins ties
            ts = contrib[best]
            out.append((scores, best))
        return out


@pytest.fixture(scope="module")
def qoi():
    return TokenContrast("is", "are")


@pytest.fixture(scope="module", params=["paper", "gauss-legendre"])
def rule(request):
    return request.param


@pytest.fixture(scope="module")
def reference(model, qoi, rule):
    return Reference(model, TEXT, qoi, STEPS, rule)


@pytest.fixture(scope="module")
def result(model, qoi, rule):
    return explain(model, TEXT, qoi, steps=STEPS, level="attention", quadrature=rule)


def test_routes_decompose_the_layer_jacobian(reference):
    """Sanity of the reference itself: Σ_routes J^(r) = J at every step and layer."""
    for s in range(reference.S):
        for l in range(reference.L):
            total = sum(reference.JR[s][l].values())
            assert torch.allclose(total, reference.J[s][l], atol=ATOL)


def test_total_influence_equals_reference(result, reference):
    for w in result.words:
        assert w.total_influence == pytest.approx(reference.g(w.position), abs=ATOL)


def test_embedding_scores_and_choices_equal_explicit_jacobians(result, reference):
    for w in result.words:
        scores, chosen = reference.embedding_gpr(w.position)
        assert w.embedding.positions == chosen
        for l in range(1, reference.L + 1):
            assert w.embedding.steps[l].scores == pytest.approx(scores[l - 1].tolist(), abs=ATOL)
        assert w.embedding.influence == pytest.approx(float(scores[-1][chosen[-1]]), abs=ATOL)


def test_attention_scores_and_routes_equal_route_jacobians(result, reference):
    for w in result.words:
        ref = reference.attention_gpr(w.position, w.embedding.positions)
        for step, (scores, best) in zip(w.attention.steps, ref):
            got = {c.route: c.score for c in step.candidates}
            assert set(got) == set(scores)
            for r in scores:
                assert got[r] == pytest.approx(scores[r], abs=ATOL)
            assert step.route == best
        assert w.attention.influence == pytest.approx(ref[-1][0][ref[-1][1]], abs=ATOL)


def test_sum_over_every_path_equals_total_influence(result, reference):
    """SPEC §3 identity 2: enumerate all N^L single paths in G_e from x_i."""
    n, L = reference.n, reference.L
    for w in result.words:
        i = w.position
        total = 0.0
        for path in itertools.product(range(n), repeat=L):
            for s in range(reference.S):
                v = reference.tangent0(s, i)[i]
                prev = i
                for l, j in enumerate(path):
                    v = reference.J[s][l][j, :, prev, :] @ v
                    prev = j
                total += reference.weights[s] * float(reference.G[s][L][prev] @ v)
        assert total == pytest.approx(w.total_influence, abs=1e-8)


def test_layer_sum_identity(result):
    """SPEC §3 identity 1: Σ_n I([prefix, n, q]) = I([prefix, q]) at every layer."""
    for w in result.words:
        steps = w.embedding.steps
        assert sum(steps[0].scores) == pytest.approx(w.total_influence, abs=ATOL)
        for l in range(1, len(steps)):
            prev = steps[l - 1].scores[steps[l - 1].position]
            assert sum(steps[l].scores) == pytest.approx(prev, abs=ATOL)


def test_route_sum_identity(result):
    """SPEC §3 identity 3: Σ_h I(..a_{k,h}..) + I(..s_k..) = the embedding-level edge's influence."""
    for w in result.words:
        a = w.attention.steps
        assert sum(c.score for c in a[0].candidates) == pytest.approx(w.embedding.influence, abs=ATOL)
        for l in range(1, len(a)):
            assert sum(c.score for c in a[l].candidates) == pytest.approx(a[l - 1].chosen[0].score, abs=ATOL)
        assert w.attention.influence == pytest.approx(a[-1].chosen[0].score, abs=ATOL)


def test_every_greedy_choice_is_the_signed_argmax(result):
    for w in result.words:
        for st in w.embedding.steps[1:]:
            signed = [w.sign * s for s in st.scores]
            assert st.position == signed.index(max(signed))
        for st in w.attention.steps:
            best = max(w.sign * c.score for c in st.candidates)
            assert w.sign * st.chosen[0].score == best
            ties = [c for c in st.candidates if w.sign * c.score == best]
            assert st.chosen[0] == ties[0]  # skip listed first: it wins ties


def test_skip_is_a_candidate_only_on_the_same_position(result):
    for w in result.words:
        for st in w.attention.steps:
            has_skip = any(c.route == "skip" for c in st.candidates)
            assert has_skip == (st.position in st.source_positions)
            assert len(st.candidates) == result.num_heads + int(has_skip)


def test_keeping_every_node_recovers_the_total_influence(model, qoi):
    """top_k = all nodes leaves nothing out, so the pattern's influence is g_i (both levels)."""
    n = len(model.encode(TEXT))
    res = explain(model, TEXT, qoi, steps=STEPS, level="embedding", top_k=n)
    for w in res.words:
        assert w.embedding.influence == pytest.approx(w.total_influence, abs=ATOL)
    res = explain(model, TEXT, qoi, steps=STEPS, level="attention", top_k=n * (model.num_heads + 1))
    for w in res.words:
        assert w.attention.influence == pytest.approx(w.total_influence, abs=ATOL)


def test_completeness_gap_shrinks_with_more_steps(model, qoi):
    gaps = []
    for steps in (3, 11, 51, 201):
        # every position but the [MASK], whose x − b is zero under the mask baseline
        res = explain(model, TEXT, qoi, steps=steps, level="embedding", quadrature="paper")
        gaps.append(abs(res.completeness_gap))
    delta = abs(res.q_input - res.q_baseline)
    assert gaps[0] > gaps[1] > gaps[2] > gaps[3]
    assert gaps[3] < 0.02 * delta
