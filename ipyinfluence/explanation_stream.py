"""``explain`` / ``iter_explain``: validate, share one pass over the α batch, then run
GPR over chunks of source words and stream each word's :class:`WordResult`.

Choices the method (docs/method.md) leaves open, made here:

* Sources default to every position except the QoI's readout position; they may be
  given as positions or tokens (a token names its first occurrence).
* ``max_batch`` bounds the rows (words × steps) of one chunk; the smallest chunk is one
  word with all its steps, since each greedy choice needs the mean over every α first.
  ``None`` sizes chunks from the free memory. On a CUDA (or CPU allocator) out-of-memory
  error the chunk is halved and retried; if one word still does not fit, the error says
  what to reduce.
* ``top_k > 1`` keeps the k best nodes per layer: positions at the embedding level,
  (position, route) pairs (head and skip nodes) at the attention level; a k larger than
  the candidates keeps them all. The influence is the sum over the kept nodes of the last
  layer (by linearity, the set's influence).
* At the attention level the skip route is a candidate only where the previous node sits
  at the same position (otherwise it carries nothing and is not a route in ``G_a``).
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, Iterator, Optional, Sequence, Union

import torch

from .methods import COMPARISON_METHOD_NAMES, comparison_patterns, check_method
from .errors import Cancelled, InputError, OutOfMemoryError
from .gpr import Prepared, attention_level, embedding_level, prepare
from .integration import baseline_vectors, default_baseline
from .mask_reading import warn_if_mask_unread
from .quadrature import AUTO_STEPS, DEFAULT_STEPS, check_quadrature, check_steps, check_tolerance, path_points
from .model import InfluenceModel, load_model
from .qoi import BoundQoI, as_qoi
from .stoppable_pass import stoppable_prepare
from .results import (
    LEVELS,
    SKIP,
    AttentionPattern,
    AttentionStep,
    EmbeddingPattern,
    EmbeddingStep,
    Explanation,
    RouteCandidate,
    WordResult,
)
from .validation import available_memory, check_finite_pass, check_finite_vectors, check_memory, \
    shared_pass_bytes, warn_if_nothing_explained

METHODS = ("gpr",) + COMPARISON_METHOD_NAMES  # baselines: SPEC §5, ipyinfluence.methods ("random:SEED" too)


def resolve_sources(tokens: list[str], sources, readout: int | None) -> list[int]:
    n = len(tokens)
    if sources is None:
        return [i for i in range(n) if i != readout]
    if isinstance(sources, (int, str)):
        sources = [sources]
    if not isinstance(sources, (list, tuple, range)):
        raise InputError(f"sources must be a position, a token, or a list of them; got {sources!r}.")
    out = []
    for s in sources:
        if isinstance(s, str):
            hits = [i for i, t in enumerate(tokens) if t == s]
            if not hits:
                raise InputError(f"source word {s!r} is not a token of the text; tokens are {tokens}.")
            s = hits[0]
        if isinstance(s, bool) or not isinstance(s, int) or not -n <= s < n:
            raise InputError(f"source {s!r} is not a position of the {n} tokens.")
        s %= n
        if s == readout:
            raise InputError(f"position {s} ({tokens[s]!r}) is where the QoI reads its prediction; it is not a source.")
        if s not in out:
            out.append(s)
    if not out:
        raise InputError("no source words to explain.")
    return out


def _bytes_per_word(model: InfluenceModel, n: int, steps: int) -> int:
    """Rough peak of one word's tangents in a sweep (hidden, FFN, attention probabilities)."""
    enc = model.weights
    inter = enc.layers[0].intermediate_size
    per_row = n * (8 * enc.hidden_size + 2 * inter + 3 * enc.num_heads * n)
    return per_row * steps * torch.finfo(model.dtype).bits // 8


def default_rows(model: InfluenceModel, n: int, steps: int) -> int:
    """Rows (words × steps) of one chunk when ``max_batch`` is None: what fits the memory budget."""
    budget = available_memory(model.device) * 0.5 - shared_pass_bytes(model, n, steps)
    words = max(1, int(budget // max(1, _bytes_per_word(model, n, steps))))
    return words * steps


def is_out_of_memory(e: BaseException) -> bool:
    """A CUDA or CPU allocator out-of-memory error (the ones a smaller chunk can avoid)."""
    if isinstance(e, torch.OutOfMemoryError):
        return True
    msg = str(e)
    return isinstance(e, RuntimeError) and ("out of memory" in msg or "can't allocate memory" in msg)


def shared_pass(model: InfluenceModel, x: torch.Tensor, b: torch.Tensor, bound, steps: int | str, quadrature: str,
                tolerance: float = 0.01, should_stop: Optional[Callable[[], bool]] = None) -> tuple[Prepared, dict]:
    """The pass every word shares, over the rule's points.

    ``steps="auto"`` tries :data:`~ipyinfluence.quadrature.AUTO_STEPS` in turn until

    * the completeness gap over every position, ``|Σ_i g_i − (q(x) − q(b))|``, is at most
      ``tolerance·|q(x) − q(b)|`` (plus a few float32 ulps of the QoI, so that a QoI with
      ``q(x) = q(b)`` can stop), as the issue that asked for it specifies, and
    * every ``g_i`` moved by at most ``tolerance·max_i |g_i|`` since the previous count.

    The second test is ours: the gap is a sum over positions in which per-word errors
    cancel (on all-MiniLM-L6-v2 the gap alone stopped at 8 nodes with g_i off by 7 %,
    benchmarks/README.md), and a user reading one word's g_i expects it to be converged.
    Each try is one shared pass (a forward and the engine's backward over that many
    points), cheap next to the per-word sweeps, which run once. Returns the pass and, for
    ``"auto"``, what was tried as ``[points, gap, change of g]`` (also kept in the
    Explanation's ``config["auto_steps"]``). If the largest count misses the tolerance,
    it is used and a warning says so. ``should_stop``: see :mod:`ipyinfluence.stoppable_pass`.
    """
    def checked_pass(n: int) -> Prepared:
        pts = path_points(n, quadrature, model.device, model.dtype)
        if should_stop is None:
            prep = prepare(model, x, b, bound, pts.alphas, pts.weights)
        else:
            prep = stoppable_prepare(model, x, b, bound, pts.alphas, pts.weights, should_stop)
        check_finite_pass(prep, bound.description, model)
        return prep

    if steps != "auto":
        prep = checked_pass(steps)
        warn_if_nothing_explained(prep, bound.description, stacklevel=5)  # auto's gap test says it otherwise
        return prep, {}
    tried, before = [], None
    eps = 8 * torch.finfo(model.dtype).eps
    for n in AUTO_STEPS[quadrature]:
        prep = checked_pass(n)
        g = prep.totals()
        gap = prep.completeness_gap()
        allowed = tolerance * abs(prep.q_input - prep.q_baseline) + eps * (abs(prep.q_input) + abs(prep.q_baseline))
        change = None if before is None else float((g - before).abs().max())  # None: JSON has no inf
        tried.append([n, gap, change])
        settled = change is not None and change <= (tolerance + eps) * float(g.abs().max())
        if gap <= allowed and settled:
            return prep, {"tolerance": tolerance, "tried": tried, "converged": True}
        before = g
    warnings.warn(f"steps='auto': {quadrature} with {n} points still leaves a completeness gap of {gap:.3g} "
                  f"(allowed {allowed:.3g}) or a change of g_i of {change:.3g} since the previous count; "
                  f"using {n} points.", stacklevel=3)
    return prep, {"tolerance": tolerance, "tried": tried, "converged": False}


class ExplanationStream:
    """Iterator over :class:`WordResult` as chunks complete.

    ``explanation`` is filled in as the stream advances (header fields at once). All input
    is checked and the shared pass is done when the stream is created, so bad input fails
    before any result exists. ``should_stop`` (a callable, e.g. a Cancel flag's ``is_set``)
    is asked during the shared pass and between chunks of words; when it says True the
    stream raises :class:`~ipyinfluence.errors.Cancelled` (the words done stay).
    """

    def __init__(self, model, text: str, qoi, *, sources=None, steps: int | str = DEFAULT_STEPS, baseline=None,
                 level: str = "attention", top_k: int = 1, max_batch: int | None = None, method: str = "gpr",
                 quadrature: str | None = None, tolerance: float = 0.01,
                 should_stop: Optional[Callable[[], bool]] = None):
        self.should_stop = should_stop
        self.model = model = load_model(model) if not isinstance(model, InfluenceModel) else model
        model.sync_weights()  # follow hf_model.to(...) done after wrapping; refuse mixed dtypes/devices
        quadrature = check_quadrature(quadrature, steps)
        check_steps(steps, quadrature)
        tolerance = check_tolerance(tolerance)
        if level not in LEVELS:
            raise InputError(f"level must be one of {LEVELS}; got {level!r}.")
        check_method(method, top_k)
        if max_batch is not None and (isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1):
            raise InputError(f"max_batch must be a positive integer (rows = words × steps) or None; got {max_batch!r}.")
        encoded = model.encode(text)
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise InputError(f"top_k must be a positive integer (nodes kept per layer); got {top_k!r}.")
        bound: BoundQoI = as_qoi(qoi).bind(model, encoded)
        warn_if_mask_unread(model, encoded, bound, stacklevel=4, qoi=qoi)  # a [MASK] the QoI ignores (issue 10)
        self.sources = resolve_sources(encoded.tokens, sources, bound.readout_position)
        self.encoded, self.bound, self.level, self.top_k = encoded, bound, level, top_k
        self.method = method
        self.max_batch = max_batch
        ids = torch.as_tensor(encoded.input_ids, device=model.device)
        x = model.word_vectors(ids).detach()
        if baseline is None:
            baseline = default_baseline(model)  # "mask" for encoders, "zero" for decoders
        b = baseline_vectors(model, encoded, baseline)
        check_finite_vectors(x, b, encoded.tokens, baseline)
        most = max(AUTO_STEPS[quadrature]) if steps == "auto" else steps
        check_memory(model, len(encoded), most, _bytes_per_word(model, len(encoded), most))
        self.prep, auto = shared_pass(model, x, b, bound, steps, quadrature, tolerance, should_stop)
        config = {"device": str(model.device), "dtype": str(model.dtype).replace("torch.", "")}
        if auto:
            config["auto_steps"] = auto
        self.explanation = Explanation(
            text=text, tokens=encoded.tokens, model=model.name, qoi=bound.description,
            q_input=self.prep.q_input, q_baseline=self.prep.q_baseline, steps=int(self.prep.alphas.numel()),
            baseline=str(baseline), level=level, top_k=top_k, num_layers=model.num_layers,
            num_heads=model.num_heads, sources=list(self.sources), readout_position=bound.readout_position,
            method=method, config=config, quadrature=quadrature,
        )
        self._iter = self._run()

    def __iter__(self) -> Iterator[WordResult]:
        return self

    def __next__(self) -> WordResult:
        return next(self._iter)

    @property
    def done(self) -> int:
        return len(self.explanation.words)

    @property
    def total(self) -> int:
        return len(self.sources)

    def result(self) -> Explanation:
        for _ in self:
            pass
        return self.explanation

    def _chunk_words(self) -> int:
        steps = self.explanation.steps
        rows = self.max_batch or default_rows(self.model, len(self.encoded), steps)
        return max(1, rows // steps)

    def _run(self) -> Iterator[WordResult]:
        pending = list(self.sources)
        chunk = self._chunk_words()
        while pending:
            if self.should_stop is not None and self.should_stop():
                raise Cancelled(f"stopped after {self.done} of {self.total} words")
            part = pending[:chunk]
            try:
                words = self._compute(part)
            except Exception as e:  # noqa: BLE001 - only memory errors are retried
                if not is_out_of_memory(e):
                    raise
                if self.model.device.type == "cuda":
                    torch.cuda.empty_cache()
                if chunk == 1:
                    raise OutOfMemoryError(
                        f"one source word with {self.explanation.steps} steps does not fit in memory on "
                        f"{self.model.device}; use fewer steps, a shorter text, or the CPU."
                    ) from e
                chunk = max(1, chunk // 2)
                continue
            pending = pending[len(part):]
            for w in words:
                self.explanation.words.append(w)
                yield w

    @torch.no_grad()
    def _compute(self, part: Sequence[int]) -> list[WordResult]:
        return self.patterns(self.method, part)

    @torch.no_grad()
    def patterns(self, method: str, sources: Sequence[int] | None = None) -> list[WordResult]:
        """Patterns of ``method`` (``"gpr"`` or a comparison method) for ``sources`` (default:
        the stream's), computed on this stream's shared pass: the seam through which
        ``reproduce`` compares methods on one sentence without a second pass."""
        check_method(method, self.top_k)
        model, prep = self.model, self.prep
        src = torch.as_tensor(list(self.sources if sources is None else sources), device=model.device)
        if method != "gpr":
            read = self.bound.readout_position  # a [MASK]; else where a decoder's QoI reads
            emb, att = comparison_patterns(method, model, prep, src, level=self.level, top_k=self.top_k,
                                           readout=self.bound.final_position if read is None else read)
        else:
            emb = embedding_level(model, prep, src, self.top_k)
            att = attention_level(model, prep, src, emb, self.top_k) if self.level == "attention" else None
        words = to_word_results(self.encoded.tokens, src, emb, att, model.num_heads)
        for w in words:
            w.embedding.method = method
            if w.attention is not None:
                w.attention.method = method
        return words


def _signed_criterion(level, num_words: int) -> list | None:
    """A baseline level's criteria times the sign it ranks with, as nested lists per layer
    (``None`` for GPR, whose criterion is ``σ·scores``)."""
    crit = getattr(level, "criterion", None)
    if crit is None:
        return None
    sign = level.criterion_sign
    out = []
    for c in crit:
        if c is None:
            out.append(None)
            continue
        if sign is not None:
            c = sign.to(c.dtype).reshape(-1, *([1] * (c.dim() - 1))) * c
        # a node no path reaches (the attention baseline's -inf) is stored as null: JSON has no inf
        out.append(torch.where(torch.isfinite(c), c, torch.nan).tolist())
    return [None if c is None else _nan_to_none(c) for c in out]


def _nan_to_none(values):
    if isinstance(values, list):
        return [_nan_to_none(v) for v in values]
    return None if math.isnan(values) else values


def to_word_results(tokens, src, emb, att, heads: int) -> list[WordResult]:
    """Batched tensors -> one plain :class:`WordResult` per source word."""
    total = emb.total.tolist()
    e_scores = [s.tolist() for s in emb.scores]
    e_chosen = [c.tolist() for c in emb.chosen]
    if getattr(emb, "kept", None) is not None:  # a decoder's padding of top_k is no node of the pattern
        e_chosen = [[[p for p, ok in zip(row, oks) if ok] for row, oks in zip(c, k.tolist())]
                    for c, k in zip(e_chosen, emb.kept)]
    e_infl = emb.influence.tolist()
    e_crit = _signed_criterion(emb, len(total))
    if att is not None:
        a_scores = [s.tolist() for s in att.scores]
        a_chosen = [c.tolist() for c in att.chosen]
        a_infl = att.influence.tolist()
        a_crit = _signed_criterion(att, len(total))

    def per_word(crit, layer, w):
        return None if crit is None or crit[layer] is None else crit[layer][w]

    out = []
    for w, pos in enumerate(src.tolist()):
        g = total[w]
        steps = [EmbeddingStep(layer=l, chosen=e_chosen[l][w], scores=e_scores[l][w],
                               criterion=per_word(e_crit, l, w) if l > 0 else None)
                 for l in range(len(e_scores))]
        attention = None
        if att is not None:
            a_steps = []
            for l in range(1, len(e_scores)):
                grid = a_scores[l - 1][w]  # N × (A+1)
                cgrid = per_word(a_crit, l - 1, w)

                def candidate(k, r):
                    return RouteCandidate(k, SKIP if r == 0 else r - 1, grid[k][r],
                                          None if cgrid is None else cgrid[k][r])

                cands = [candidate(k, r) for k in range(len(grid)) for r in range(heads + 1)
                         if not math.isnan(grid[k][r])]
                chosen = [candidate(*divmod(idx, heads + 1)) for idx in a_chosen[l - 1][w]
                          if not math.isnan(grid[idx // (heads + 1)][idx % (heads + 1)])]
                a_steps.append(AttentionStep(layer=l, source_positions=sorted(e_chosen[l - 1][w]),
                                             chosen=chosen, candidates=cands))
            attention = AttentionPattern(steps=a_steps, influence=a_infl[w])
        out.append(WordResult(position=pos, token=tokens[pos], total_influence=g, sign=1 if g >= 0 else -1,
                              embedding=EmbeddingPattern(steps=steps, influence=e_infl[w]), attention=attention))
    return out


def iter_explain(model, text: str, qoi, *, sources=None, steps: int | str = DEFAULT_STEPS,
                 baseline: Union[str, int, None] = None,
                 level: str = "attention", top_k: int = 1, max_batch: int | None = None,
                 method: str = "gpr", quadrature: str | None = None, tolerance: float = 0.01,
                 should_stop: Optional[Callable[[], bool]] = None) -> ExplanationStream:
    """Stream one :class:`WordResult` per source word as it completes (see module doc;
    ``should_stop``: see :class:`ExplanationStream`)."""
    return ExplanationStream(model, text, qoi, sources=sources, steps=steps, baseline=baseline, level=level,
                             top_k=top_k, max_batch=max_batch, method=method, quadrature=quadrature,
                             tolerance=tolerance, should_stop=should_stop)


def explain(model, text: str, qoi, *, sources=None, steps: int | str = DEFAULT_STEPS,
            baseline: Union[str, int, None] = None,
            level: str = "attention", top_k: int = 1, max_batch: int | None = None,
            method: str = "gpr", quadrature: str | None = None, tolerance: float = 0.01,
            progress: bool = False) -> Explanation:
    """Each source word's distributional influence ``g_i`` and its influence patterns.

    ``level="embedding"`` computes ``π^e`` only; ``"attention"`` also refines it into
    heads and skips (``π^a``). ``steps`` points of the integration rule ``quadrature``
    (default: Gauss–Legendre with 32 nodes, on all-MiniLM-L6-v2 off by 0.03–0.39% of
    max|g_i| against a 256-node reference where the paper's 51-point mean is off by
    1.8–2.6%; ``quadrature="paper", steps=51`` gives the paper's ``linspace`` and plain
    mean), or ``steps="auto"``: as many points as bring the completeness gap under
    ``tolerance·|q(x) − q(b)|``; the Explanation's ``steps`` says how many were used.
    ``progress=True`` shows a progress bar over the source words (worth it for long texts;
    ``sources=`` restricts the words). The method: ``docs/method.md``; the choices made
    here: :mod:`ipyinfluence.explanation_stream`.
    """
    stream = iter_explain(model, text, qoi, sources=sources, steps=steps, baseline=baseline, level=level,
                          top_k=top_k, max_batch=max_batch, method=method, quadrature=quadrature,
                          tolerance=tolerance)
    if progress:
        from tqdm.auto import tqdm  # only when asked: in a notebook it brings ipywidgets

        with tqdm(total=stream.total, unit="word", desc="explain") as bar:
            for _ in stream:
                bar.update(1)
    return stream.result()
