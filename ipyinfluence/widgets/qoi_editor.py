"""``QoIEditor``: the quantity-of-interest controls that fit the model's head.

* masked LM: two contrast words read at the [MASK] (``TokenContrast``), each checked
  against the vocabulary as it is typed (``model.token_id``; a word of several
  WordPieces shows the pieces inline);
* classifier: two class dropdowns from ``model.labels`` (``ClassContrast``; "none" as the
  second gives ``ClassLogit``);
* encoder: a reference sentence (``EmbeddingSimilarity``);
* causal LM: the next token after the last position, either a contrast of two tokens
  (``NextTokenContrast``) or one token's log-probability (``NextTokenLogProb``). A
  decoder's token carries its leading space (``" Mary"``): the fields keep spaces as typed
  and a word of several tokens shows the tokenizer's pieces with the hint to add the space.

A QoI the fields cannot express (a callable, a vector reference) is kept as given until
the user edits a field.
"""

from __future__ import annotations

from typing import Any, Optional

import ipywidgets as widgets
import traitlets

from ..errors import InfluenceError, QoIError
from ..model import InfluenceModel
from ..qoi import (ClassContrast, ClassLogit, EmbeddingSimilarity, NextTokenContrast, NextTokenLogProb,
                   TokenContrast)
from .escape import esc

DEFAULT_CONTRAST = ("is", "are")
DEFAULT_REFERENCE = "a great film"
NO_CLASS = "(none: logit of the first class)"
DEFAULT_NEXT_TOKENS = (" Mary", " John")  # the IOI prompt's answer and its distractor
NEXT_TOKEN_KINDS = [("contrast: logit(good) − logit(bad)", "contrast"), ("log p(token)", "logprob")]


def default_qoi(model: InfluenceModel):
    """The QoI a new Explorer starts with for ``model``'s head."""
    if model.task == "masked-lm":
        return TokenContrast(*DEFAULT_CONTRAST)
    if model.task == "causal-lm":
        return NextTokenContrast(*DEFAULT_NEXT_TOKENS)
    if model.task == "classification":
        labels = model.labels
        lowered = [l.lower() for l in labels]
        if "positive" in lowered and "negative" in lowered:
            return ClassContrast(labels[lowered.index("positive")], labels[lowered.index("negative")])
        if len(labels) >= 2:
            return ClassContrast(labels[-1], labels[0])  # LABEL_1 vs LABEL_0: SST-2's convention
        return ClassLogit(labels[0] if labels else 0)
    return EmbeddingSimilarity(DEFAULT_REFERENCE)


def _label_of(model: InfluenceModel, c) -> Optional[str]:
    labels = model.labels
    if isinstance(c, str):
        for l in labels:
            if l.lower() == c.lower():
                return l
        return None
    try:
        return labels[int(c)]
    except (IndexError, ValueError, TypeError):
        return None


class QoIEditor(widgets.VBox):
    """Edits one QoI for one model. ``qoi()`` returns it or raises an
    :class:`~ipyinfluence.errors.InfluenceError` naming the problem; ``error`` holds the
    current inline message (empty when the fields are valid)."""

    error = traitlets.Unicode("")
    valid = traitlets.Bool(False)
    task = traitlets.Unicode("")  # "" until a model is set

    def __init__(self, model: Optional[InfluenceModel] = None, qoi: Any = None, **kwargs):
        self.model: Optional[InfluenceModel] = None
        self._custom = None  # a QoI the fields cannot express, used until a field is edited
        self._position: Optional[int] = None  # TokenContrast(position=...) kept as given
        self._pending: Any = qoi  # a QoI given before the model is loaded
        self.good = widgets.Text(description="good", placeholder="e.g. is", continuous_update=True,
                                 layout=widgets.Layout(width="180px"))
        self.bad = widgets.Text(description="bad", placeholder="e.g. are", continuous_update=True,
                                layout=widgets.Layout(width="180px"))
        self.class_a = widgets.Dropdown(description="class", layout=widgets.Layout(width="240px"))
        self.class_b = widgets.Dropdown(description="minus", layout=widgets.Layout(width="240px"))
        self.reference = widgets.Text(description="reference", placeholder="a sentence to compare with",
                                      layout=widgets.Layout(width="380px"))
        self.kind = widgets.Dropdown(options=NEXT_TOKEN_KINDS, value="contrast", description="next token",
                                     layout=widgets.Layout(width="320px"))
        self.token = widgets.Text(description="token", placeholder="e.g. ' Mary'", continuous_update=True,
                                  layout=widgets.Layout(width="180px"))
        for w, cls in ((self.good, "good"), (self.bad, "bad"), (self.class_a, "class-a"),
                       (self.class_b, "class-b"), (self.reference, "reference"), (self.kind, "kind"),
                       (self.token, "token")):
            w.add_class(f"ipyinfluence-qoi-{cls}")
            w.observe(self._on_field, names="value")
        self.title = widgets.HTML()
        self.message = widgets.HTML()
        self.message.add_class("ipyinfluence-qoi-error")
        self.fields = widgets.HBox()
        super().__init__([self.title, self.fields, self.message], **kwargs)
        self.add_class("ipyinfluence-qoi")
        self._quiet = False
        if model is not None:
            self.set_model(model, qoi)
        else:
            self.title.value = "<b>QoI</b>: <i>the fields for the model's head appear once the model is loaded " \
                               "(click Run).</i>"

    # -- public -------------------------------------------------------------------
    def set_model(self, model: InfluenceModel, qoi: Any = None) -> None:
        """Build the fields for ``model``'s head, filled from ``qoi`` (or the task's default)."""
        self.model = model
        self._quiet = True
        try:
            if model.task == "masked-lm":
                self.title.value = f"<b>QoI</b>: logit(good) − logit(bad) at the {esc(model.mask_token or '[MASK]')}"
                self.fields.children = [self.good, self.bad]
            elif model.task == "causal-lm":
                self.title.value = ("<b>QoI</b>: the next token after the last position (a token includes its "
                                    "leading space: ' Mary', not 'Mary')")
                self._show_kind()
            elif model.task == "classification":
                labels = model.labels
                self.class_a.options = labels
                self.class_b.options = labels + [NO_CLASS]
                self.title.value = "<b>QoI</b>: logit(class) − logit(minus)"
                self.fields.children = [self.class_a, self.class_b]
            else:
                self.title.value = "<b>QoI</b>: cosine(sentence vector, reference sentence vector)"
                self.fields.children = [self.reference]
            self.task = model.task
        finally:
            self._quiet = False
        pending = qoi if qoi is not None else self._pending
        self._pending = None
        self.set_qoi(default_qoi(model))  # fields start complete, so editing one gives a whole QoI
        if pending is not None:
            self.set_qoi(pending)

    def set_qoi(self, qoi: Any) -> None:
        """Fill the fields from ``qoi``; one they cannot express is kept as a custom QoI."""
        if self.model is None:
            self._pending = qoi
            return
        self._quiet = True
        self._custom, self._position = None, None
        try:
            task = self.model.task
            if isinstance(qoi, TokenContrast) and task == "masked-lm":
                self.good.value, self.bad.value, self._position = qoi.good, qoi.bad, qoi.position
            elif isinstance(qoi, NextTokenContrast) and task == "causal-lm":
                self.kind.value = "contrast"
                self.good.value, self.bad.value, self._position = qoi.good, qoi.bad, qoi.position
            elif isinstance(qoi, NextTokenLogProb) and task == "causal-lm":
                self.kind.value = "logprob"
                self.token.value, self._position = qoi.token, qoi.position
            elif isinstance(qoi, (ClassContrast, ClassLogit)) and task == "classification":
                first = qoi.a if isinstance(qoi, ClassContrast) else qoi.c
                a = _label_of(self.model, first)
                b = _label_of(self.model, qoi.b) if isinstance(qoi, ClassContrast) else NO_CLASS
                if a is None or b is None:
                    self._custom = qoi  # let the engine name the bad class when it runs
                else:
                    self.class_a.value, self.class_b.value = a, b
            elif isinstance(qoi, EmbeddingSimilarity) and isinstance(qoi.reference, str) and task == "encoder":
                self.reference.value = qoi.reference
            else:
                self._custom = qoi
        finally:
            self._quiet = False
        self.validate()

    def qoi(self):
        """The QoI the fields describe; raises an InfluenceError with the inline message."""
        if self.model is None:
            raise QoIError("no model yet: the QoI fields appear once the model is loaded.")
        if self._custom is not None:
            return self._custom
        message = self.validate()
        if message:
            raise QoIError(message)
        task = self.model.task
        if task == "masked-lm":
            return TokenContrast(self.good.value.strip(), self.bad.value.strip(), position=self._position)
        if task == "causal-lm":
            position = -1 if self._position is None else self._position
            if self.kind.value == "logprob":
                return NextTokenLogProb(self.token.value, position=position)
            return NextTokenContrast(self.good.value, self.bad.value, position=position)
        if task == "classification":
            if self.class_b.value == NO_CLASS:
                return ClassLogit(self.class_a.value)
            return ClassContrast(self.class_a.value, self.class_b.value)
        return EmbeddingSimilarity(self.reference.value.strip())

    def describe(self) -> str:
        if self.model is None:
            return "QoI: set once the model is loaded"
        if self._custom is not None:
            return f"custom QoI {self._custom!r}"
        return repr(self.qoi()) if self.valid else "invalid QoI"

    def validate(self) -> str:
        """Check the fields now; sets ``error``/``valid`` and the inline message."""
        message = self._check()
        self.error = message
        self.valid = not message
        if self._custom is not None and not message:
            custom = esc(repr(self._custom))
            self.message.value = f"<small>custom QoI {custom}; edit a field to replace it.</small>"
        else:
            self.message.value = f"<span style='color:#b00020'>{esc(message)}</span>" if message else ""
        return message

    # -- internals ----------------------------------------------------------------
    def _check(self) -> str:
        if self.model is None or self._custom is not None:
            return ""
        task = self.model.task
        try:
            if task == "masked-lm":
                good, bad = self.good.value.strip(), self.bad.value.strip()
                if not good or not bad:
                    return "type two contrast words (good and bad), e.g. is / are."
                ids = [self.model.token_id(w, "the contrast word") for w in (good, bad)]
                if ids[0] == ids[1]:
                    return f"the contrast words {good!r} and {bad!r} are the same token; pick two different words."
            elif task == "causal-lm":
                return self._check_next_token()
            elif task == "classification":
                if self.class_a.value is None:
                    return "the model has no class labels."
                if self.class_a.value == self.class_b.value:
                    return "pick two different classes."
            elif not self.reference.value.strip():
                return "type a reference sentence to compare the text with."
        except InfluenceError as e:
            return str(e)
        return ""

    def _check_next_token(self) -> str:
        """A decoder's tokens, spaces kept as typed (the model's error names the pieces and
        hints at the leading space)."""
        if self.kind.value == "logprob":
            if not self.token.value.strip():
                return "type the next token, e.g. ' Mary' (with its leading space)."
            self.model.token_id(self.token.value, "the next token")
            return ""
        good, bad = self.good.value, self.bad.value
        if not good.strip() or not bad.strip():
            return "type two next tokens (good and bad), e.g. ' Mary' / ' John' (with their leading space)."
        ids = [self.model.token_id(w, "the contrast token") for w in (good, bad)]
        if ids[0] == ids[1]:
            return f"the contrast tokens {good!r} and {bad!r} are the same token; pick two different tokens."
        return ""

    def _show_kind(self) -> None:
        self.fields.children = [self.kind, self.token] if self.kind.value == "logprob" else \
            [self.kind, self.good, self.bad]

    def _on_field(self, change) -> None:
        if change["owner"] is self.kind:
            self._show_kind()
        if self._quiet:
            return
        self._custom = None  # the user took over: the fields now define the QoI
        self.validate()
