"""``Study``: a sentence set, its explanations (saved as they complete), aggregates and ablations.

    study = Study(model, SentenceSet.from_template(...), path="agreement.jsonl")
    study.run()                        # resumes where an earlier run (or kernel) stopped
    agg = study.aggregate(by="label:subject")
    study.ablate(layer=3, head=4, at="subject")

With ``path``, every explanation is appended to a JSON-lines file the moment it is
computed (:mod:`.store`); constructing the same study again (same sentences, model
weights, options and QoI) loads what is there and ``run()`` computes only the rest, so a
kernel restart or an interrupted run loses at most one sentence's work and duplicates
nothing, also with several Study objects or processes on one file (the file is locked
for each append). ``Study.open(path, model)`` reloads a study from its file alone.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

from ..errors import InputError
from ..integration import default_baseline
from ..model import InfluenceModel, load_model
from ..quadrature import DEFAULT_QUADRATURE, DEFAULT_STEPS
from ..results import Explanation
from .ablate import AblationResult, ablate_study
from .aggregate import Aggregates, Condition, aggregate, sentences_through
from .explain_many import DEFAULT_BATCH_SENTENCES, explain_many
from .fingerprint import weights_fingerprint
from .qoi_identity import qoi_identity
from .sentence_set import QoISpec, SentenceSet
from .store import StudyStore


class Study:
    """See the module doc. ``sentences``: a :class:`SentenceSet` or a list of texts
    (then ``qoi`` is required). Explain options: ``steps``, ``quadrature`` (default
    Gauss–Legendre with 32 nodes, as :func:`~ipyinfluence.explain`), ``level``, ``baseline``,
    ``top_k``; ``batch_sentences`` sizes the shared passes of :func:`explain_many`."""

    def __init__(self, model, sentences: SentenceSet | Sequence[str], qoi: QoISpec = None, *,
                 path: str | None = None, steps: int = DEFAULT_STEPS, level: str = "attention", baseline: str | None = None,
                 top_k: int = 1, quadrature: str = DEFAULT_QUADRATURE, batch_sentences: int = DEFAULT_BATCH_SENTENCES):
        self.model: InfluenceModel = model if isinstance(model, InfluenceModel) else load_model(model)
        if not isinstance(sentences, SentenceSet):
            if qoi is None:
                raise InputError("give qoi= for a list of texts (or build a SentenceSet whose sentences carry one).")
            sentences = SentenceSet.from_texts(list(sentences), self.model.tokenizer, qoi)
        elif qoi is not None:
            sentences = SentenceSet(sentences.instances, qoi, template=sentences.template, words=sentences.words)
        self.sentences = sentences
        if baseline is None:
            baseline = default_baseline(self.model)  # "mask" for encoders, a token row for decoders
        self.options = dict(steps=steps, level=level, baseline=baseline, top_k=top_k, quadrature=quadrature)
        self.batch_sentences = batch_sentences
        self._qois = sentences.qois()
        self.explanations: dict[int, Explanation] = {}
        self.store: StudyStore | None = None
        if path is not None:  # opened (and checked) before anything is computed
            self.store = StudyStore(path, self._header(), tokens_of=self._tokens_of)
            self.explanations = dict(self.store.explanations)
            if self.pending and not self.store.writable:
                raise InputError(f"{self.store.path} is read-only and {len(self.pending)} sentences are still to "
                                 "compute; make it writable or give another path.")

    def _tokens_of(self, index: int) -> list[str]:
        return self.model.encode(self.sentences[index].text).tokens

    def _header(self) -> dict[str, Any]:
        return {"model": self.model.name, "weights": weights_fingerprint(self.model),
                "options": {k: str(v) if k == "baseline" else v for k, v in self.options.items()},
                "sentences": self.sentences.to_dict(),
                "qois": [qoi_identity(q) for q in self._qois]}

    @classmethod
    def open(cls, path: str, model, qoi: QoISpec = None, **kwargs) -> "Study":
        """A study from its file (the sentences and options stored there)."""
        store = StudyStore(path)
        store.close()
        try:
            sentences = SentenceSet.from_dict(store.header["sentences"], qoi)
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(f"{store.path}:1: the study header's sentences are damaged ({type(e).__name__}: {e}); "
                             "give another path, or delete the file to start again.") from None
        opts = {**store.header["options"], **kwargs}
        known = [n for n, p in inspect.signature(cls.__init__).parameters.items()
                 if p.kind == p.KEYWORD_ONLY and n != "path"]
        unknown = sorted(set(opts) - set(known))
        if unknown:
            raise InputError(f"{store.path}:1: the study header has unknown explain options {unknown}; the options "
                             f"are {known}.")
        return cls(model, sentences, path=path, **opts)

    # -- state -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.sentences)

    @property
    def instances(self):
        return self.sentences.instances

    @property
    def pending(self) -> list[int]:
        return [i for i in range(len(self.sentences)) if i not in self.explanations]

    @property
    def complete(self) -> bool:
        return not self.pending

    def qoi(self, index: int):
        return self._qois[index]

    # -- running -----------------------------------------------------------------------
    def iter_run(self):
        """Explain the pending sentences; yields ``(index, Explanation)`` as each is saved."""
        if self.store is not None:  # another writer of the file may have stored some since
            self.explanations.update(self.store.refresh())
        todo = self.pending
        if not todo:
            return
        stream = explain_many(self.model, [self.sentences[i].text for i in todo], [self._qois[i] for i in todo],
                              batch_sentences=self.batch_sentences, **self.options)
        for j, e in stream:
            i = todo[j]
            if self.store is not None:
                e = self.store.append(i, e)  # the stored one, if another writer saved it first
            self.explanations[i] = e
            yield i, e

    def run(self, on_sentence: Callable[[int, Explanation], Any] | None = None,
            should_stop: Callable[[], bool] | None = None) -> "Study":
        """Explain every pending sentence (``should_stop()`` is asked after each one)."""
        for i, e in self.iter_run():
            if on_sentence is not None:
                on_sentence(i, e)
            if should_stop is not None and should_stop():
                break
        return self

    # -- reading -----------------------------------------------------------------------
    def aggregate(self, by: Condition = None, *, roles: Sequence[str] | None = None, top: int = 5) -> Aggregates:
        """Per role and layer: routes, moves, common patterns, Ĥ, ``g_i`` (see :mod:`.aggregate`)."""
        return aggregate(self.sentences.instances, self.explanations, by=by, roles=roles, top=top)

    def sentences_through(self, role: str, layer: int, route, *, by: Condition = None, condition: str = "all"
                          ) -> list[int]:
        return sentences_through(self.sentences.instances, self.explanations, role, layer, route, by=by,
                                 condition=condition)

    def ablate(self, *, layer: int | None = None, head=None, at: str | None = None, pattern: str | None = None,
               routes: Sequence[tuple] | None = None, nodes=None, control: bool = True, seed: int = 0,
               indices: Sequence[int] | None = None) -> AblationResult:
        """Zero a node set in every explained sentence; QoI and accuracy before / after / random control.

        ``study.ablate(layer=3, head=4, at="subject")`` zeroes head 4 (from 0) of layer 3 at
        the subject. See :mod:`ipyinfluence.study.ablate` for the other specs.
        """
        return ablate_study(self.model, self.sentences.instances, self._qois, self.explanations, indices=indices,
                            control=control, seed=seed, layer=layer, head=head, at=at, pattern=pattern,
                            routes=routes, nodes=nodes)

