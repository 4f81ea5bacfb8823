"""The small panel a click on a graph node opens: the candidate scores GPR chose among at
that layer (``EmbeddingStep.scores``, ``AttentionStep.candidates``), so a user can see
each greedy choice and the runners-up.

Plain HTML strings (escaped), used by :class:`PatternGraph` and usable anywhere.
"""

from __future__ import annotations

from typing import Iterable, Optional

from ..results import SKIP, Explanation, WordResult
from .escape import esc
from .geometry import X_ROW, drawn_level, layout, qoi_row
from .style import fmt, layer_label, route_label

MAX_WORDS = 6  # columns of the embedding-level table
MAX_CANDIDATES = 8  # rows per word at the attention level


_esc = esc  # the one escaping helper (.escape)


def _word_name(w: WordResult) -> str:
    return f"{_esc(w.token)}<sub>{w.position}</sub>"


def node_details(explanation: Explanation, row: int, position: Optional[int],
                 selected: Optional[Iterable[int]] = None, level: str = "attention") -> str:
    """HTML describing node ``(row, position)`` for the ``selected`` words (all when None).

    Words whose drawn pattern passes through the node are listed; when none does (a
    click on an unused grid node), all shown words are, so their scores at that layer
    can still be compared.
    """
    lay = layout(explanation, selected, level)
    tokens = explanation.tokens
    top = qoi_row(explanation.num_layers)
    through = [d.word for d in lay.words
               if any(s.end == (float(position), row) or s.start == (float(position), row) for s in d.segments)]
    if row == top:
        through = [d.word for d in lay.words]
    words = through or [d.word for d in lay.words]
    if not words:
        return "<div class='ipyinfluence-detail-empty'>No computed words are shown yet.</div>"
    if row == X_ROW:
        head = f"<b>x<sub>{position}</sub></b> word embedding of {_esc(tokens[position])!s}"
        body = "".join(f"<tr><td>{_word_name(w)}</td><td>g = {fmt(w.total_influence)}</td></tr>"
                       for w in words if w.position == position) or \
            "<tr><td colspan=2>not a source word (the QoI reads its prediction here)</td></tr>"
        return f"<div>{head}<table>{body}</table></div>"
    if row == top:
        head = f"<b>QoI</b> {_esc(explanation.qoi)}: q(x) = {fmt(explanation.q_input)}, " \
               f"q(baseline) = {fmt(explanation.q_baseline)}"
        body = "".join(f"<tr><td>{_word_name(d.word)}</td><td>I(π) = {fmt(d.influence)}</td>"
                       f"<td>g = {fmt(d.word.total_influence)}</td></tr>" for d in lay.words)
        return f"<div>{head}<table>{body}</table></div>"
    layer = row - 1
    title = f"<b>{layer_label(layer)}<sub>{position}</sub></b> ({_esc(tokens[position])})"
    if drawn_level(explanation, level) == "attention" and layer >= 1:
        return f"<div>{title}: attention-level candidates at layer {layer}" + \
            "".join(_attention_table(w, layer, position, tokens) for w in words[:MAX_WORDS]) + "</div>"
    return f"<div>{title}: embedding-level scores at layer {layer}" + \
        _embedding_table(words[:MAX_WORDS], layer, position, tokens) + "</div>"


def _embedding_table(words: list[WordResult], layer: int, position: Optional[int], tokens: list[str]) -> str:
    head = "<tr><th>node</th>" + "".join(f"<th>{_word_name(w)}</th>" for w in words) + "</tr>"
    rows = []
    for e, tok in enumerate(tokens):
        cells = []
        for w in words:
            step = w.embedding.steps[layer]
            score = step.scores[e] if e < len(step.scores) else float("nan")
            text = fmt(score)
            cells.append(f"<td><b>{text} ✓</b></td>" if e in step.chosen else f"<td>{text}</td>")
        style = " style='background:#fff3c4'" if e == position else ""
        rows.append(f"<tr{style}><td>{e} {_esc(tok)}</td>{''.join(cells)}</tr>")
    return f"<table class='ipyinfluence-scores'>{head}{''.join(rows)}</table>"


def _attention_table(word: WordResult, layer: int, position: Optional[int], tokens: list[str]) -> str:
    step = next(s for s in word.attention.steps if s.layer == layer)
    chosen = {(c.position, c.route) for c in step.chosen}
    ranked = sorted(step.candidates, key=lambda c: -word.sign * c.score)

    def row(c) -> str:
        mark = " ✓" if (c.position, c.route) in chosen else ""
        style = " style='background:#fff3c4'" if c.position == position else ""
        route = "skip" if c.route == SKIP else f"head {c.route}"
        return (f"<tr{style}><td>{c.position} {_esc(tokens[c.position])}</td><td>{route}</td>"
                f"<td>{fmt(c.score)}{mark}</td></tr>")

    head = "<tr><th>node</th><th>route</th><th>score</th></tr>"
    rest = ranked[MAX_CANDIDATES:]
    # the runners-up stay one click away: <details> needs no script (works in exports too)
    tail = (f"<details class='ipyinfluence-more'><summary>… {len(rest)} more</summary>"
            f"<table class='ipyinfluence-scores'>{head}{''.join(row(c) for c in rest)}</table></details>"
            if rest else "")
    return (f"<table class='ipyinfluence-scores'><caption>{_word_name(word)} "
            f"(σ = {word.sign:+d}, best first; labels as drawn: {route_label(0)} = head 0)</caption>"
            f"{head}{''.join(row(c) for c in ranked[:MAX_CANDIDATES])}</table>{tail}")
