"""One task instance, computed: the per-instance function shared by the CLI and the dashboard.

:func:`run_instance` explains the instance with GPR at both levels and with every baseline,
ablates each method's ``Π_+`` at both levels, and returns one JSON-ready record (one JSONL
line). Everything Table 1 and Figure 5 need is in the record, so aggregation never touches
the model again.

Choices:

* The shared pass over the α batch is done once (``iter_explain``'s) and reused by every
  comparison method (:meth:`ExplanationStream.patterns`), for all source words in one
  chunk: task sentences are short (at most 19 tokens), and the numbers are the ones
  ``explain(method=...)`` gives.
* Words are stored "slim": each step keeps its chosen nodes but not the scores of every
  candidate (they are 20-50 times larger and no metric reads them). ``word_from_dict``
  reads them back into :class:`~ipyinfluence.results.WordResult` with empty score lists.
* Baseline node sets are trimmed or padded to GPR's number of nodes per (kind, layer)
  (``metrics.match_layer_counts``, ranked by how many of the baseline's own patterns hold
  a node, ties broken with the instance index as seed), as SPEC §6 asks.
* ``replace_skip`` ablates GPR's ``Π^a_+`` with every skip swapped for all heads there.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any, Sequence

import torch

from ..explanation_stream import iter_explain
from ..metrics import (
    replace_skip,
    ablate,
    alignment_counts,
    attention_probabilities,
    graph_nodes,
    layer_counts,
    match_layer_counts,
    node_frequency,
    path_share,
    union_nodes,
)
from ..model import InfluenceModel
from ..results import LEVELS, WordResult, word_from_dict
from ..tasks import Instance
from .task_instances import task_qoi

DEFAULT_COMPARISON_METHODS = ("attention", "conductance", "internal_influence")


def random_methods(runs: int) -> list[str]:
    """``random:0 .. random:{runs-1}``: the random baseline's seeds (SPEC §5: mean and spread)."""
    return [f"random:{s}" for s in range(runs)]


def instance_id(task: str, index: int) -> str:
    return f"{task}/{index}"


def slim_word(word: WordResult) -> dict[str, Any]:
    d = asdict(word)
    for step in d["embedding"]["steps"]:
        step["scores"] = []
    if d.get("attention") is not None:
        for step in d["attention"]["steps"]:
            step["candidates"] = []
    return d


def record_words(record: dict, method: str = "gpr") -> list[WordResult]:
    """A record's words for ``method`` as WordResults (slim: no candidate scores)."""
    return [word_from_dict(w) for w in record["methods"][method]]


def _ablated(model, text, qoi, nodes, level) -> float:
    return ablate(model, text, qoi, nodes, level).q_ablated


@torch.no_grad()
def run_instance(model: InfluenceModel, instance: Instance, index: int, *, steps: int = 51, quadrature: str = "paper",
                 baselines: Sequence[str] = DEFAULT_COMPARISON_METHODS, random_runs: int = 3) -> dict[str, Any]:
    """Explain, ablate and measure one instance (see module doc); returns its JSONL record."""
    started = time.perf_counter()
    qoi = task_qoi(instance)
    stream = iter_explain(model, instance.text, qoi, steps=steps, quadrature=quadrature, level="attention")
    gpr = stream.result()
    heads, layers, length = model.num_heads, model.num_layers, len(gpr.tokens)
    words: dict[str, list[WordResult]] = {"gpr": gpr.words}
    for method in list(baselines) + random_methods(random_runs):
        words[method] = stream.patterns(method)

    text = instance.text
    q_original = ablate(model, text, qoi, (), "embedding").q_original
    ablation: dict[str, Any] = {"original": q_original}
    shares: dict[str, list[int]] = {}
    for level in LEVELS:
        graph = graph_nodes(layers, length, heads, level)
        kept = union_nodes(gpr.words, level, +1)
        # sorted: match_layer_counts draws its tie-breaks in the order of ``target``, and a
        # Counter built from a frozenset has the order of string hashes (differs per process)
        target = dict(sorted(layer_counts(kept).items()))
        ablation.setdefault("gpr", {})[level] = _ablated(model, text, qoi, kept, level)
        for method, ws in words.items():
            if method == "gpr":
                continue
            nodes = match_layer_counts(union_nodes(ws, level, +1), target, graph,
                                       ranking=node_frequency(ws, level, +1), seed=index)
            ablation.setdefault(method, {})[level] = _ablated(model, text, qoi, nodes, level)
        share = path_share(kept, layers, length, heads, gpr.sources, gpr.readout_position, level)
        shares[level] = [share.kept, share.total]
    ablation["replace_skip"] = {"attention": _ablated(
        model, text, qoi, replace_skip(union_nodes(gpr.words, "attention", +1), heads), "attention")}
    aligned, transitions = alignment_counts(gpr.words, attention_probabilities(model, text))

    return {
        "id": instance_id(instance.task, index),
        "task": instance.task,
        "index": index,
        "text": text,
        "tokens": gpr.tokens,
        "token_roles": list(instance.token_roles),
        "sentence_type": instance.sentence_type,
        "label": instance.label,
        "qoi": gpr.qoi,
        "readout": gpr.readout_position,
        "sources": gpr.sources,
        "num_layers": layers,
        "num_heads": heads,
        "steps": steps,
        "quadrature": quadrature,
        "q": {"input": gpr.q_input, "baseline": gpr.q_baseline},
        "methods": {m: [slim_word(w) for w in ws] for m, ws in words.items()},
        "ablation": ablation,
        "path_share": shares,
        "alignment": [aligned, transitions],
        "worker": {"seconds": time.perf_counter() - started, "finished_at": time.time()},
    }
