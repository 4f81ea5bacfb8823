"""``explain_many``: explanations of many sentences, streamed, equal to ``explain`` per sentence.

Batching (exact, built on the engine's public pieces only): sentences of the same token
length are stacked along the step axis, ``M`` sentences × ``S`` steps as ``M·S`` rows, and
:func:`ipyinfluence.gpr.prepare` runs once on them. Its forward and backward are
row-independent (each row is its own sequence; the stacked QoI applies each sentence's
own bound QoI to its own rows), so slicing the :class:`~ipyinfluence.gpr.Prepared` back
per sentence gives what a per-sentence ``prepare`` gives, up to float rounding of the
larger matmuls. The per-word sweeps then run per sentence on its slice, with the
engine's own :func:`~ipyinfluence.gpr.embedding_level` and
:func:`~ipyinfluence.gpr.attention_level`. No padding: sentences of different lengths go
in different batches.

Options other than ``method="gpr"`` (the baselines) take the per-sentence path
(``iter_explain`` itself), which is exact by construction.

Results stream as ``(index, Explanation)`` pairs, the index into ``texts``; sentences of
one length come in input order, lengths in order of first appearance.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Callable, Iterator, Sequence

import torch

from ..errors import InfluenceError, InputError, OutOfMemoryError
from ..explanation_stream import is_out_of_memory, iter_explain, resolve_sources, to_word_results
from ..gpr import Prepared, attention_level, embedding_level, prepare, read_ends
from ..integration import baseline_vectors, default_baseline
from ..model import InfluenceModel, load_model
from ..qoi import BoundQoI, as_qoi
from ..quadrature import DEFAULT_STEPS, check_quadrature, check_steps, check_tolerance, path_points
from ..results import LEVELS, Explanation
from ..validation import check_finite_pass, warn_if_nothing_explained
from .sentence_set import SentenceSet

DEFAULT_BATCH_SENTENCES = 16


@dataclasses.dataclass
class _Item:
    index: int
    text: str
    encoded: object
    bound: BoundQoI
    sources: list[int]


def _qoi_for(qoi, i: int):
    if isinstance(qoi, (list, tuple)):
        return qoi[i]
    return qoi


class _StackedQoI:
    """Each sentence's bound QoI on its own ``S`` rows of the stacked batch."""

    def __init__(self, model: InfluenceModel, bounds: Sequence[BoundQoI], steps: int):
        self.model, self.bounds, self.steps = model, list(bounds), steps

    def __call__(self, outputs) -> torch.Tensor:
        h = outputs.last_hidden_state
        s = self.steps
        return torch.cat([b(self.model.outputs(h[m * s:(m + 1) * s])) for m, b in enumerate(self.bounds)])


def _slice_tree(value, rows: slice, total: int):
    """Slice every per-row tensor (dim >= 2, leading axis ``total``) of a cache tree."""
    if isinstance(value, torch.Tensor):
        return value[rows] if value.dim() >= 2 and value.shape[0] == total else value
    if isinstance(value, list):
        return [_slice_tree(v, rows, total) for v in value]
    if isinstance(value, tuple):
        return tuple(_slice_tree(v, rows, total) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: _slice_tree(getattr(value, f.name), rows, total)
                                            for f in dataclasses.fields(value) if f.init})
    return value


def slice_prepared(prep: Prepared, m: int, steps: int, count: int, alpha: torch.Tensor,
                   direction: torch.Tensor) -> Prepared:
    """Sentence ``m``'s :class:`Prepared` out of one prepared for ``count`` stacked sentences."""
    total = count * steps
    rows = slice(m * steps, (m + 1) * steps)
    out = {}
    for f in dataclasses.fields(prep):
        v = getattr(prep, f.name)
        if f.name == "alphas":
            out[f.name] = alpha
        elif f.name == "directions":
            out[f.name] = direction
        elif isinstance(v, torch.Tensor) and v.dim() == 1 and v.shape[0] == total:
            out[f.name] = v[rows]  # per-row scalars (q)
        else:
            out[f.name] = _slice_tree(v, rows, total)
    return Prepared(**out)


def _short(text) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "…")


class ManyStream:
    """Iterator of ``(index, Explanation)``; ``done``/``total`` count sentences.

    All sentences are checked when the stream is created (tokens, QoI, sources), so bad
    input fails before any work, with the sentence named.
    """

    def __init__(self, model, texts: Sequence[str], qoi, *, sources=None, steps: int | str = DEFAULT_STEPS, baseline=None,
                 level: str = "attention", top_k: int = 1, max_batch: int | None = None, method: str = "gpr",
                 quadrature: str | None = None, tolerance: float = 0.01,
                 batch_sentences: int = DEFAULT_BATCH_SENTENCES):
        if isinstance(texts, (str, bytes)):
            # list("hello") would explain five one-letter texts: refused rather than guessed at
            raise InputError(f"explain_many takes a list of texts; got one string ({_short(texts)}). Use "
                             "explain(model, text, qoi) for one text, or explain_many(model, [text], qoi).")
        self.model = model = load_model(model) if not isinstance(model, InfluenceModel) else model
        if baseline is None:
            baseline = default_baseline(model)  # "mask" for encoders, a token row for decoders
        texts = list(texts)
        if not texts:
            raise InputError("explain_many needs at least one text.")
        if isinstance(qoi, (list, tuple)) and len(qoi) != len(texts):
            raise InputError(f"{len(qoi)} QoIs for {len(texts)} texts: give one QoI, or one per text.")
        quadrature = check_quadrature(quadrature, steps)
        check_steps(steps, quadrature)
        check_tolerance(tolerance)
        if level not in LEVELS:
            raise InputError(f"level must be one of {LEVELS}; got {level!r}.")
        if isinstance(batch_sentences, bool) or not isinstance(batch_sentences, int) or batch_sentences < 1:
            raise InputError(f"batch_sentences must be a positive integer; got {batch_sentences!r}.")
        self.options = dict(sources=sources, steps=steps, baseline=baseline, level=level, top_k=top_k,
                            max_batch=max_batch, method=method, quadrature=quadrature, tolerance=tolerance)
        self.batch_sentences = batch_sentences
        self.texts, self.qoi = texts, qoi
        self.total = len(texts)
        self.done = 0
        # steps="auto" may settle on other counts per sentence: those go one by one
        self.exact_batching = method == "gpr" and steps != "auto"
        if self.exact_batching:
            # The first sentence through iter_explain checks every option exactly as explain does
            # (with 2 steps: only its checks are used, its pass is thrown away).
            first = self._checked(0, lambda: iter_explain(model, texts[0], _qoi_for(qoi, 0),
                                                          **{**self.options, "steps": 2}))
            self._first = first
            self.items = [self._item(i, t) for i, t in enumerate(texts)]
        else:
            self._first = None
            self.items = None
            self._streams = [self._checked(i, lambda i=i, t=t: iter_explain(model, t, _qoi_for(qoi, i), **self.options))
                             for i, t in enumerate(texts)]
        self._iter = self._run()

    def _checked(self, i: int, make: Callable):
        try:
            return make()
        except InfluenceError as e:
            raise type(e)(f"sentence {i} ({self.texts[i]!r}): {e}") from None

    def _item(self, i: int, text: str) -> _Item:
        def make():
            if i == 0:
                s = self._first
                return _Item(0, text, s.encoded, s.bound, list(s.sources))
            encoded = self.model.encode(text)
            bound = as_qoi(_qoi_for(self.qoi, i)).bind(self.model, encoded)
            return _Item(i, text, encoded, bound, resolve_sources(encoded.tokens, self.options["sources"],
                                                                  bound.readout_position))
        return self._checked(i, make)

    def __iter__(self) -> Iterator[tuple[int, Explanation]]:
        return self

    def __next__(self) -> tuple[int, Explanation]:
        out = next(self._iter)
        self.done += 1
        return out

    def results(self) -> list[Explanation]:
        """Every explanation, in the order of ``texts``."""
        out: dict[int, Explanation] = {}
        for i, e in self:
            out[i] = e
        return [out[i] for i in sorted(out)]

    # -- work -------------------------------------------------------------------------
    def _run(self) -> Iterator[tuple[int, Explanation]]:
        if not self.exact_batching:
            for i, s in enumerate(self._streams):
                yield i, s.result()
            return
        groups: "OrderedDict[int, list[_Item]]" = OrderedDict()
        for it in self.items:
            groups.setdefault(len(it.encoded), []).append(it)
        for group in groups.values():
            for start in range(0, len(group), self.batch_sentences):
                yield from self._batch(group[start:start + self.batch_sentences])

    @torch.no_grad()
    def _batch(self, items: list[_Item]) -> Iterator[tuple[int, Explanation]]:
        model, opts = self.model, self.options
        steps = opts["steps"]
        pts = path_points(steps, opts["quadrature"], model.device, model.dtype)
        alpha = pts.alphas
        xs, bs = [], []
        for it in items:
            ids = torch.as_tensor(it.encoded.input_ids, device=model.device)
            xs.append(model.word_vectors(ids).detach())
            bs.append(baseline_vectors(model, it.encoded, opts["baseline"]))
        count = len(items)
        # One row per (sentence, step): interpolate() broadcasts a per-row α against per-row x, b.
        x_rows = torch.stack(xs).repeat_interleave(steps, dim=0)
        b_rows = torch.stack(bs).repeat_interleave(steps, dim=0)
        prep_all = prepare(model, x_rows, b_rows, _StackedQoI(model, [it.bound for it in items], steps),
                           alpha.repeat(count), ends=False)
        for m, it in enumerate(items):
            prep = slice_prepared(prep_all, m, steps, count, alpha, (xs[m] - bs[m]).detach())
            prep.weights = pts.weights
            prep.final = it.bound.final_position  # a decoder QoI's read position (SPEC §10)
            prep = read_ends(model, prep, xs[m], bs[m], it.bound)  # the stacked pass's ends are not this sentence's
            self._checked(it.index, lambda: check_finite_pass(prep, it.bound.description, self.model))
            warn_if_nothing_explained(prep, f"{it.bound.description}, sentence {it.index}", stacklevel=4)
            yield it.index, self._explain_one(it, prep)

    def _explain_one(self, it: _Item, prep: Prepared) -> Explanation:
        model, opts = self.model, self.options
        level, top_k = opts["level"], opts["top_k"]
        expl = Explanation(
            text=it.text, tokens=it.encoded.tokens, model=model.name, qoi=it.bound.description,
            q_input=prep.q_input, q_baseline=prep.q_baseline, steps=opts["steps"], quadrature=opts["quadrature"],
            baseline=str(opts["baseline"]), level=level, top_k=top_k, num_layers=model.num_layers,
            num_heads=model.num_heads, sources=list(it.sources), readout_position=it.bound.readout_position,
            method=opts["method"], config={"device": str(model.device), "dtype": str(model.dtype).replace("torch.", "")},
        )
        pending = list(it.sources)
        chunk = max(1, opts["max_batch"] // opts["steps"]) if opts["max_batch"] else len(pending)
        while pending:
            part = pending[:chunk]
            try:
                src = torch.as_tensor(part, device=model.device)
                emb = embedding_level(model, prep, src, top_k)
                att = attention_level(model, prep, src, emb, top_k) if level == "attention" else None
            except Exception as e:  # noqa: BLE001 - only memory errors are retried
                if not is_out_of_memory(e):
                    raise
                if chunk == 1:
                    raise OutOfMemoryError(f"one source word with {opts['steps']} steps does not fit in memory on "
                                           f"{model.device}; use fewer steps or the CPU.") from e
                chunk = max(1, chunk // 2)
                continue
            pending = pending[len(part):]
            expl.words.extend(to_word_results(it.encoded.tokens, src, emb, att, model.num_heads))
        return expl


def explain_many(model, texts: Sequence[str], qoi=None, **options) -> ManyStream:
    """Explain every text; stream ``(index, Explanation)`` as each sentence completes.

    ``texts``: a list (or any iterable) of strings, or a
    :class:`~ipyinfluence.study.SentenceSet` (its own QoIs by default); a single string is
    refused with an :class:`InputError` (iterating it would explain each character).
    ``qoi``: one QoI for all texts, or a list with one per text. Options are
    :func:`ipyinfluence.explain`'s (``sources``, ``steps``, ``baseline``, ``level``,
    ``top_k``, ``max_batch``, ``method``, ``quadrature``, ``tolerance``) plus
    ``batch_sentences`` (sentences of one length stacked into one shared pass, default 16).
    Each explanation equals
    ``explain(model, texts[i], qoi_i, **options)`` (see the module doc);
    ``explain_many(...).results()`` gives the list in input order.
    """
    if isinstance(texts, SentenceSet):
        qoi = texts.qois() if qoi is None else qoi
        texts = texts.texts
    return ManyStream(model, texts, qoi, **options)
