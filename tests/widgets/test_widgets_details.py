"""The node-click panel: every candidate stays reachable ("… n more" expands)."""

from __future__ import annotations

from ipyinfluence.results import RouteCandidate
from ipyinfluence.widgets.details import MAX_CANDIDATES, node_details


def test_more_candidates_expand(known):
    step = known.words[0].attention.steps[0]
    step.candidates += [RouteCandidate(2, h, 0.001 * h) for h in range(4, 4 + MAX_CANDIDATES)]
    text = node_details(known, 2, 2, [2], "attention")
    total = len(step.candidates)
    more = total - MAX_CANDIDATES
    assert f"<details class='ipyinfluence-more'><summary>… {more} more</summary>" in text
    # every candidate is in the panel: the hidden ones inside <details>
    assert text.count("<td>head ") + text.count("<td>skip") == total
