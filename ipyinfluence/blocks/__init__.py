"""How one transformer block computes, as the engine's sweeps need it.

Every family's block implements the same small protocol, so the sweeps in
:mod:`ipyinfluence.functional` and :mod:`ipyinfluence.gpr` never ask which family they
run. A block splits into the parts the influence graph names (SPEC §1, §10):

``x ──attention input──▶ q, k, v ──softmax──▶ a_{k,h} ──output──▶ o``,  ``z = x + o``,
``h = post(z)`` (position-wise: BERT's LN1 + FFN + LN2, a decoder's MLP sublayer).

Methods (``c`` is the block's cache from ``forward(..., cache=True)``; ``pos`` is None for
every position, or per-word positions (W, k) where a tangent lives on a few rows):

- ``forward(x, cache, head_mask, skip_mask) -> (h, cache)``: the primal, differentiable;
  the cache holds ``q, k, v`` (S, A, N, d) as the scores see them (after QK-norm and
  rotary; grouped key/value heads repeated per query head), ``probs`` (S, A, N, N) and
  the family's position-wise state.
- ``qkv_jvp(c, dx, pos) -> (dq, dk, dv)`` and ``qkv_vjp(c, gq, gk, gv, pos) -> gx``: from
  a tangent of the block's input ``x`` to those of q, k, v (per query head), and back.
- ``out_jvp(c, dctx, pos) -> dz`` and ``out_vjp(c, gz, pos) -> gctx``: the heads' context
  vectors to their contribution to ``z`` (``W_O``; Gemma's post-attention norm), and back.
- ``post_jvp(c, dz, pos)`` and ``post_vjp(c, gh, pos)``: the position-wise rest.
- ``scale``: the factor on ``q·k``; ``causal``: whether position k sees only j ≤ k.

Adding a family: write how its block and embedding compute with these parts (most
decoders need only a reader in :mod:`ipyinfluence.families` that fills
:class:`~ipyinfluence.blocks.pre_ln.DecoderLayer`), and register the reader there.
"""
