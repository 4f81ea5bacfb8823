"""``explain`` / ``iter_explain``: validate, share one pass over the α batch, then run
GPR over chunks of source words and stream each word's :class:`WordResult`.

Choices the SPEC leaves open (documented here, as it asks):

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
from typing import Iterator, Sequence, Union

import torch

from .baselines import BASELINE_METHODS, baseline_patterns, check_method
from .errors import InputError, OutOfMemoryError
from .gpr import Prepared, attention_level, embedding_level, prepare
from .integration import alphas, baseline_vectors, check_steps
from .mask_reading import warn_if_mask_unread
from .model import InfluenceModel, load_model
from .qoi import BoundQoI, as_qoi
from .results import (
    SKIP,
    AttentionPattern,
    AttentionStep,
    EmbeddingPattern,
    EmbeddingStep,
    Explanation,
    RouteCandidate,
    WordResult,
)

LEVELS = ("embedding", "attention")
METHODS = ("gpr",) + BASELINE_METHODS  # baselines: SPEC §5, ipyinfluence.baselines ("random:SEED" too)


def resolve_sources(tokens: list[str], sources, readout: int | None) -> list[int]:
    n = len(tokens)
    if sources is None:
        return [i for i in range(n) if i != readout]
    if isinstance(sources, (int, str)):
        sources = [sources]
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
    inter = enc.layers[0].w1.shape[0]
    per_row = n * (8 * enc.hidden_size + 2 * inter + 3 * enc.num_heads * n)
    return per_row * steps * torch.finfo(model.dtype).bits // 8


def _default_rows(model: InfluenceModel, n: int, steps: int) -> int:
    if model.device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(model.device)
        budget = free * 0.5
    else:
        budget = 1.5 * 2**30
    words = max(1, int(budget // max(1, _bytes_per_word(model, n, steps))))
    return words * steps


def _is_oom(e: BaseException) -> bool:
    if isinstance(e, torch.OutOfMemoryError):
        return True
    msg = str(e)
    return isinstance(e, RuntimeError) and ("out of memory" in msg or "can't allocate memory" in msg)


class ExplanationStream:
    """Iterator over :class:`WordResult` as chunks complete.

    ``explanation`` is filled in as the stream advances (header fields at once). All input
    is checked and the shared pass is done when the stream is created, so bad input fails
    before any result exists.
    """

    def __init__(self, model, text: str, qoi, *, sources=None, steps: int = 51, baseline="mask",
                 level: str = "attention", top_k: int = 1, max_batch: int | None = None, method: str = "gpr"):
        self.model = model = load_model(model) if not isinstance(model, InfluenceModel) else model
        check_steps(steps)
        if level not in LEVELS:
            raise InputError(f"level must be one of {LEVELS}; got {level!r}.")
        check_method(method, top_k)
        if max_batch is not None and (isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1):
            raise InputError(f"max_batch must be a positive integer (rows = words × steps) or None; got {max_batch!r}.")
        encoded = model.encode(text)
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise InputError(f"top_k must be a positive integer (nodes kept per layer); got {top_k!r}.")
        bound: BoundQoI = as_qoi(qoi).bind(model, encoded)
        warn_if_mask_unread(model, encoded, bound, stacklevel=4)  # a [MASK] the QoI ignores (issue 10)
        self.sources = resolve_sources(encoded.tokens, sources, bound.readout_position)
        self.encoded, self.bound, self.level, self.top_k = encoded, bound, level, top_k
        self.method = method
        self.max_batch = max_batch
        ids = torch.as_tensor(encoded.input_ids, device=model.device)
        x = model.word_vectors(ids).detach()
        b = baseline_vectors(model, encoded, baseline)
        self.prep: Prepared = prepare(model, x, b, bound, alphas(steps, model.device, model.dtype))
        self.explanation = Explanation(
            text=text, tokens=encoded.tokens, model=model.name, qoi=bound.description,
            q_input=float(self.prep.q[-1]), q_baseline=float(self.prep.q[0]), steps=steps,
            baseline=str(baseline), level=level, top_k=top_k, num_layers=model.num_layers,
            num_heads=model.num_heads, sources=list(self.sources), readout_position=bound.readout_position,
            method=method, config={"device": str(model.device), "dtype": str(model.dtype).replace("torch.", "")},
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
        rows = self.max_batch or _default_rows(self.model, len(self.encoded), steps)
        return max(1, rows // steps)

    def _run(self) -> Iterator[WordResult]:
        pending = list(self.sources)
        chunk = self._chunk_words()
        while pending:
            part = pending[:chunk]
            try:
                words = self._compute(part)
            except Exception as e:  # noqa: BLE001 - only memory errors are retried
                if not _is_oom(e):
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
        model, prep = self.model, self.prep
        src = torch.as_tensor(list(part), device=model.device)
        if self.method != "gpr":
            emb, att = baseline_patterns(self.method, model, prep, src, level=self.level, top_k=self.top_k,
                                         readout=self.bound.readout_position)
        else:
            emb = embedding_level(model, prep, src, self.top_k)
            att = attention_level(model, prep, src, emb, self.top_k) if self.level == "attention" else None
        words = to_word_results(self.encoded.tokens, src, emb, att, model.num_heads)
        for w in words:
            w.embedding.method = self.method
            if w.attention is not None:
                w.attention.method = self.method
        return words


def to_word_results(tokens, src, emb, att, heads: int) -> list[WordResult]:
    """Batched tensors -> one plain :class:`WordResult` per source word."""
    total = emb.total.tolist()
    e_scores = [s.tolist() for s in emb.scores]
    e_chosen = [c.tolist() for c in emb.chosen]
    e_infl = emb.influence.tolist()
    if att is not None:
        a_scores = [s.tolist() for s in att.scores]
        a_chosen = [c.tolist() for c in att.chosen]
        a_infl = att.influence.tolist()
    out = []
    for w, pos in enumerate(src.tolist()):
        g = total[w]
        steps = [EmbeddingStep(layer=l, chosen=e_chosen[l][w], scores=e_scores[l][w]) for l in range(len(e_scores))]
        attention = None
        if att is not None:
            a_steps = []
            for l in range(1, len(e_scores)):
                grid = a_scores[l - 1][w]  # N × (A+1)
                cands = [RouteCandidate(k, SKIP if r == 0 else r - 1, grid[k][r])
                         for k in range(len(grid)) for r in range(heads + 1) if not math.isnan(grid[k][r])]
                chosen = []
                for idx in a_chosen[l - 1][w]:
                    k, r = divmod(idx, heads + 1)
                    if not math.isnan(grid[k][r]):
                        chosen.append(RouteCandidate(k, SKIP if r == 0 else r - 1, grid[k][r]))
                a_steps.append(AttentionStep(layer=l, source_positions=sorted(e_chosen[l - 1][w]),
                                             chosen=chosen, candidates=cands))
            attention = AttentionPattern(steps=a_steps, influence=a_infl[w])
        out.append(WordResult(position=pos, token=tokens[pos], total_influence=g, sign=1 if g >= 0 else -1,
                              embedding=EmbeddingPattern(steps=steps, influence=e_infl[w]), attention=attention))
    return out


def iter_explain(model, text: str, qoi, *, sources=None, steps: int = 51, baseline: Union[str, int] = "mask",
                 level: str = "attention", top_k: int = 1, max_batch: int | None = None,
                 method: str = "gpr") -> ExplanationStream:
    """Stream one :class:`WordResult` per source word as it completes (see module doc)."""
    return ExplanationStream(model, text, qoi, sources=sources, steps=steps, baseline=baseline, level=level,
                             top_k=top_k, max_batch=max_batch, method=method)


def explain(model, text: str, qoi, *, sources=None, steps: int = 51, baseline: Union[str, int] = "mask",
            level: str = "attention", top_k: int = 1, max_batch: int | None = None,
            method: str = "gpr") -> Explanation:
    """Each source word's distributional influence ``g_i`` and its influence patterns.

    ``level="embedding"`` computes ``π^e`` only; ``"attention"`` also refines it into
    heads and skips (``π^a``). See SPEC §2–4 and :mod:`ipyinfluence.explain`.
    """
    return iter_explain(model, text, qoi, sources=sources, steps=steps, baseline=baseline, level=level,
                        top_k=top_k, max_batch=max_batch, method=method).result()
