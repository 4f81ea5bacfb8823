"""One task instance: the model input, the contrast, and where each template role sits."""

from __future__ import annotations

from dataclasses import dataclass

from ..qoi import ClassContrast, QoI, TokenContrast

# GLUE SST-2 labels: 1 = positive, 0 = negative. Indices (not names) so that checkpoints whose
# labels are "LABEL_0"/"LABEL_1" work too.
SST2_POSITIVE, SST2_NEGATIVE = 1, 0


@dataclass(frozen=True)
class Instance:
    """A sentence of a task, ready for :func:`ipyinfluence.explain`.

    ``text`` is the model input. For the masked-LM tasks (SVA, RA) it is the grammatical
    sentence with the agreeing word (verb or anaphor) replaced by the tokenizer's mask token;
    ``good``/``bad`` are the grammatical and ungrammatical words there, and :meth:`qoi` is
    ``TokenContrast(good, bad)``. For SA ``text`` is the SST-2 sentence, ``good``/``bad`` are
    "positive"/"negative" and :meth:`qoi` is ``ClassContrast(1, 0)`` (GLUE's positive, negative).

    ``token_roles`` has one entry per input token, special tokens included (their role is the
    token itself, e.g. "[CLS]"), so ``len(token_roles) == len(tokenizer(text).input_ids)``.
    Within one task all instances share the same ``token_roles`` (the fixed-layout filter), so
    a statistic per token position is a statistic per template role (e.g. pattern entropy).
    """

    task: str
    text: str
    good: str
    bad: str
    case: str  # the source template (LM_syneval case, Open Sesame template) or the SST-2 split
    sentence_type: str  # "sing_plur" = singular subject, plural attractor; "masc_fem"; SA: "positive"
    token_roles: tuple[str, ...]
    word_roles: tuple[str, ...]  # one per whitespace-separated word of ``text``
    mask_index: int | None = None  # token index of the mask (None for SA)
    good_sentence: str | None = None  # the full grammatical / ungrammatical sentences (None for SA)
    bad_sentence: str | None = None
    source_type: str | None = None  # the reference's own label: LM_syneval type, "refl.3"/"refl.4"
    label: int | None = None  # SA only: the gold label (1 positive, 0 negative)

    @property
    def text_masked(self) -> str:
        return self.text

    def role_positions(self) -> dict[str, tuple[int, ...]]:
        """Token indices of each template role, e.g. ``{"subject": (2,), "attractor": (5,), ...}``."""
        positions: dict[str, list[int]] = {}
        for index, role in enumerate(self.token_roles):
            positions.setdefault(role, []).append(index)
        return {role: tuple(indices) for role, indices in positions.items()}

    def qoi(self) -> QoI:
        if self.task == "sa":
            return ClassContrast(SST2_POSITIVE, SST2_NEGATIVE)
        return TokenContrast(self.good, self.bad)
