"""Conductance and internal influence against autograd / forward-mode AD on the HF model."""

import pytest
import torch

from ipyinfluence.methods import conductance_patterns, internal_influence_patterns

from _hf_reference import gradients, mlm_qoi, path_inputs, tangents, word_direction

STEPS = 5

# torch loads its forward-AD decompositions through torch.jit.script, which warns on 2.13.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


def _reference(mlm, text):
    embeds, direction, encoded = path_inputs(mlm, text, STEPS)
    readout = encoded.input_ids.index(mlm.tokenizer.mask_token_id)
    g_hidden, g_ctx, g_skip = gradients(mlm, embeds, mlm_qoi(mlm, readout, "is", "are"))
    return embeds, direction, g_hidden, g_ctx, g_skip


def _mean_dot(t, g):  # (S, N, H) -> (N,)
    return (t * g).sum(-1).mean(0)


def test_conductance_matches_forward_and_reverse_ad(mlm, stream, text):
    embeds, direction, g_hidden, g_ctx, g_skip = _reference(mlm, text)
    src = torch.as_tensor(stream.sources)
    emb, att = conductance_patterns(mlm, stream.prep, src, level="attention")
    heads, d = mlm.num_heads, mlm.weights.head_size
    for w, i in enumerate(stream.sources):
        t_hidden, t_ctx, t_skip = tangents(mlm, embeds, word_direction(direction, i, STEPS))
        g_i = float(_mean_dot(t_hidden[0], g_hidden[0])[i])
        sign = 1.0 if g_i >= 0 else -1.0
        for l in range(mlm.num_layers + 1):
            ref = _mean_dot(t_hidden[l], g_hidden[l])
            torch.testing.assert_close(emb.criterion[l][w], ref, rtol=1e-7, atol=1e-12)
            # conductance is complete at every layer: its node sum is g_i
            assert abs(float(ref.sum()) - g_i) < 1e-8 * max(1.0, abs(g_i))
            if l > 0:
                assert int(emb.chosen[l][w, 0]) == int(torch.argmax(sign * ref))
        for l in range(1, mlm.num_layers + 1):
            k = int(emb.chosen[l][w, 0])
            head_ref = (t_ctx[l - 1] * g_ctx[l - 1]).reshape(STEPS, -1, heads, d).sum(-1).mean(0)  # (N, A)
            skip_ref = _mean_dot(t_skip[l - 1], g_skip[l - 1])  # (N,)
            grid = att.criterion[l - 1][w]
            torch.testing.assert_close(grid[k, 1:], head_ref[k], rtol=1e-7, atol=1e-12)
            prev = int(emb.chosen[l - 1][w, 0])
            if prev == k:
                torch.testing.assert_close(grid[k, 0], skip_ref[k], rtol=1e-7, atol=1e-12)
                skip_val = float(sign * skip_ref[k])
            else:  # the skip is not a route from another position
                assert torch.isnan(grid[k, 0])
                skip_val = -float("inf")
            cands = torch.cat([torch.tensor([skip_val], dtype=head_ref.dtype), sign * head_ref[k]])
            best = int(torch.argmax(cands))
            assert int(att.chosen[l - 1][w, 0]) == k * (heads + 1) + best


def test_internal_influence_matches_autograd(mlm, stream, text):
    _, _, g_hidden, g_ctx, g_skip = _reference(mlm, text)
    src = torch.as_tensor(stream.sources)
    emb, att = internal_influence_patterns(mlm, stream.prep, src, level="attention")
    heads, d = mlm.num_heads, mlm.weights.head_size
    signs = torch.where(emb.total >= 0, 1.0, -1.0).to(emb.total.dtype)
    for l in range(mlm.num_layers + 1):
        ref = g_hidden[l].sum(-1).mean(0)  # (N,)
        for w in range(len(stream.sources)):
            torch.testing.assert_close(emb.criterion[l][w], ref, rtol=1e-7, atol=1e-12)
            if l > 0:
                assert int(emb.chosen[l][w, 0]) == int(torch.argmax(signs[w] * ref))
    for l in range(1, mlm.num_layers + 1):
        head_ref = g_ctx[l - 1].reshape(STEPS, -1, heads, d).sum(-1).mean(0)  # (N, A)
        skip_ref = g_skip[l - 1].sum(-1).mean(0)
        for w in range(len(stream.sources)):
            k = int(emb.chosen[l][w, 0])
            torch.testing.assert_close(att.criterion[l - 1][w][k, 1:], head_ref[k], rtol=1e-7, atol=1e-12)
            if int(emb.chosen[l - 1][w, 0]) == k:
                torch.testing.assert_close(att.criterion[l - 1][w][k, 0], skip_ref[k], rtol=1e-7, atol=1e-12)
    # the same nodes for every word of one sign (it does not depend on the source)
    pos = [w for w in range(len(stream.sources)) if signs[w] > 0]
    assert len({tuple(int(emb.chosen[l][w, 0]) for l in range(1, mlm.num_layers + 1)) for w in pos}) == 1
