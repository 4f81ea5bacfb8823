"""Progressive explanation: a coarse preview first, then the exact result.

The preview integrates over few steps (``preview_steps``, default 5), so its first full
pattern arrives within a fraction of a second on CPU; the final stage is exactly
:func:`ipyinfluence.iter_explain` with the requested ``steps`` — identical to a direct
run, since it *is* a direct run. Preview patterns may differ from the final ones where two
candidates are close; consumers (the Explorer) redraw each word when its final result
arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from .explanation_stream import iter_explain
from .quadrature import DEFAULT_STEPS
from .results import Explanation, WordResult


@dataclass
class Update:
    """One streamed word: ``stage`` is ``"preview"`` or ``"final"``."""

    stage: str
    word: WordResult
    explanation: Explanation  # the explanation this word belongs to (grows as words arrive)


def iter_progressive(model, text: str, qoi, *, steps: int | str = DEFAULT_STEPS, preview_steps: int = 5,
                     **kwargs) -> Iterator[Update]:
    """Yield every word twice: from a ``preview_steps`` run, then from the exact run.

    Input is validated before the first yield (the preview run checks it); all keyword
    arguments of :func:`iter_explain` are accepted. ``preview_steps >= steps`` skips the
    preview.
    """
    if steps == "auto" or preview_steps < steps:
        preview = iter_explain(model, text, qoi, steps=preview_steps, **kwargs)
        for word in preview:
            yield Update("preview", word, preview.explanation)
        model = preview.model
    final = iter_explain(model, text, qoi, steps=steps, **kwargs)
    for word in final:
        yield Update("final", word, final.explanation)
