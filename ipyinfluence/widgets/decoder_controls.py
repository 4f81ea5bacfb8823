"""The Explorer's controls for a causal LM (SPEC §10): the baselines a decoder has and a
free baseline field, and the IOI prompt as the default text.

A decoder has no [MASK], so the baseline dropdown offers the default of
:func:`ipyinfluence.integration.default_baseline` (the tokenizer's unknown-word, padding or
end-of-text token at every position) and ``"zero"``; the free field takes any single token
or a counterfactual text of the input's token length. Its errors (a wrong length, a word
outside the vocabulary) are shown under it as typed, never raised: a widget never dies.
"""

from __future__ import annotations

import ipywidgets as widgets

from ..errors import InfluenceError
from ..integration import INPUT_BASELINES, baseline_vectors, default_baseline
from .decoder_marks import set_views
from .escape import esc

IOI_TEXT = "When Mary and John went to the store, John gave a drink to"


def baseline_choices(model) -> list[str]:
    """The named baselines that exist for ``model`` (a decoder has no mask token)."""
    if model is None or not model.causal:
        return list(INPUT_BASELINES)
    first = default_baseline(model)
    return [first] + (["zero"] if first != "zero" else [])


class BaselineField(widgets.VBox):
    """A token or a counterfactual text as the baseline, checked against the current text."""

    def __init__(self, **kwargs):
        self.text = widgets.Text(description="or text", continuous_update=False,
                                 placeholder="a token, or a counterfactual text of as many tokens",
                                 layout=widgets.Layout(width="420px"))
        self.text.add_class("ipyinfluence-baseline-text")
        self.message = widgets.HTML()
        self.message.add_class("ipyinfluence-baseline-error")
        super().__init__([self.text, self.message], **kwargs)
        self.layout.display = "none"  # shown for decoders only

    def check(self, model, sentence: str) -> str:
        """The error of the typed baseline for ``sentence`` (plain text), or ""; shown inline."""
        value = self.text.value
        message = ""
        if value.strip() and model is not None:
            try:
                baseline_vectors(model, model.encode(sentence), value)
            except InfluenceError as e:
                message = str(e)
            except Exception as e:  # noqa: BLE001 - a widget never dies
                message = f"this baseline cannot be read: {e}"
        self.message.value = f"<small style='color:#b00020'>{esc(message)}</small>" if message else ""
        return message


def fit_model(x, model) -> None:
    """Give the Explorer ``x`` the baseline controls of ``model`` (called when it is shown)."""
    set_views(x, model)
    field: BaselineField = x.baseline_field
    if not model.causal:
        field.layout.display = "none"
        return
    choices = baseline_choices(model)
    current = x.baseline
    keep = current if current not in INPUT_BASELINES or current in choices else choices[0]
    x.baseline_box.options = choices + ([keep] if keep not in choices else [])
    x.baseline = keep
    field.layout.display = None
    if getattr(field, "_wired", None) is not x:
        field._wired = x
        field.text.observe(lambda _c: _typed(x), names="value")
        x.observe(lambda _c: field.check(x.model, x.text), names="text")


def _typed(x) -> None:
    """A baseline typed in the field: used when it reads for the current text."""
    value = x.baseline_field.text.value
    if value.strip() and not x.baseline_field.check(x.model, x.text):
        x.baseline = value
