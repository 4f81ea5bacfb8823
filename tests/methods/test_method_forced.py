"""A baseline's pattern influence is computed exactly as GPR's (SPEC §3)."""

import pytest
import torch

from ipyinfluence.methods import forced_attention_level, forced_embedding_level
from ipyinfluence.gpr import attention_level, embedding_level

from _hf_reference import block_jacobian, gradients, mlm_qoi, path_inputs, tangents, word_direction

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


@pytest.mark.parametrize("k", [1, 2])
def test_forcing_gprs_choice_reproduces_gpr(mlm, stream, k):
    src = torch.as_tensor(stream.sources)
    emb = embedding_level(mlm, stream.prep, src, top_k=k)
    att = attention_level(mlm, stream.prep, src, emb, top_k=k)
    f_emb = forced_embedding_level(mlm, stream.prep, src, emb.chosen[1:], emb.scores)
    f_att = forced_attention_level(mlm, stream.prep, src, emb, att.chosen, att.scores)
    torch.testing.assert_close(f_emb.total, emb.total, rtol=0, atol=0)
    for a, b in zip(f_emb.scores, emb.scores):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(f_emb.influence, emb.influence, rtol=0, atol=0)
    for a, b in zip(f_att.scores, att.scores):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-18, equal_nan=True)
    torch.testing.assert_close(f_att.influence, att.influence, rtol=1e-12, atol=1e-18)


def test_forced_path_influence_matches_explicit_jacobian_product(mlm, stream, text):
    """Any fixed path [x_i, h^0_i, h^1_a, h^2_b, h^3_c, q]: I = mean_α G^3_cᵀ J^3_cb J^2_ba J^1_ai T^0_i,
    with each J^l_kj = ∂h^l_k/∂h^{l-1}_j an explicit Jacobian of the HF layer."""
    embeds, direction, encoded = path_inputs(mlm, text, 5)
    readout = stream.bound.readout_position
    with torch.no_grad():
        hidden = mlm.hf_model.bert(inputs_embeds=embeds, output_hidden_states=True).hidden_states
    g_hidden, _, _ = gradients(mlm, embeds, mlm_qoi(mlm, readout, "is", "are"))
    paths = {1: [3, 5, readout], 5: [5, 2, readout], 8: [0, 8, 4]}  # source -> positions at layers 1..3
    src = torch.tensor(list(paths))
    chosen = [torch.tensor([[p[l]] for p in paths.values()]) for l in range(3)]
    forced = forced_embedding_level(mlm, stream.prep, src, chosen, [None] * 4)
    for w, (i, path) in enumerate(paths.items()):
        t0, _, _ = tangents(mlm, embeds, word_direction(direction, i, 5))
        v = t0[0][:, i]  # (S, H): tangent of h^0_i
        prev = i
        for l, pos in enumerate(path, start=1):
            v = torch.einsum("sab,sb->sa", block_jacobian(mlm, l, hidden[l - 1], pos, prev), v)
            prev = pos
        reference = (v * g_hidden[3][:, path[-1]]).sum(-1).mean()
        torch.testing.assert_close(forced.influence[w], reference, rtol=1e-7, atol=1e-12)
    assert float(forced.influence[2]) == 0.0  # ends off the [MASK]: an MLM reads only its [MASK]


def test_all_routes_give_back_the_embedding_level_influence(mlm, stream):
    """Keeping every route into every node of π^e is π^e itself (route sum, SPEC §3 identity 3)."""
    heads = mlm.num_heads
    for i in stream.sources[:4]:
        src = torch.tensor([i])
        emb = embedding_level(mlm, stream.prep, src)
        routes = []
        for l in range(1, mlm.num_layers + 1):
            j, k = int(emb.chosen[l - 1][0, 0]), int(emb.chosen[l][0, 0])
            cells = [k * (heads + 1) + r for r in range(heads + 1) if r > 0 or j == k]
            routes.append(torch.tensor([cells]))
        att = forced_attention_level(mlm, stream.prep, src, emb, routes, [None] * mlm.num_layers)
        torch.testing.assert_close(att.influence, emb.influence, rtol=1e-9, atol=1e-14)


def test_forced_route_must_be_a_route(mlm, stream):
    src = torch.tensor([stream.sources[0]])
    emb = embedding_level(mlm, stream.prep, src)
    heads = mlm.num_heads
    n = len(stream.encoded)
    elsewhere = (int(emb.chosen[1][0, 0]) + 1) % n  # a position the pattern does not visit
    bad = [torch.tensor([[elsewhere * (heads + 1) + 1]])] * mlm.num_layers
    with pytest.raises(ValueError, match="not a route"):
        forced_attention_level(mlm, stream.prep, src, emb, bad, [None] * mlm.num_layers)
