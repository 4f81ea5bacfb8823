"""ipyinfluence: influence patterns (Guided Pattern Refinement) for BERT-family models.

Engine (no widget imports): :func:`load_model`, the QoIs, :func:`explain` and
:func:`iter_explain`, and the plain result types in :mod:`ipyinfluence.results`.
Widgets live in :mod:`ipyinfluence.widgets` and are imported lazily.
"""

from .errors import (
    InfluenceError,
    InputError,
    ModelNotAvailableError,
    OutOfMemoryError,
    QoIError,
    UnsupportedModelError,
)
from .explain import ExplanationStream, explain, iter_explain
from .integration import BASELINES
from .model import InfluenceModel, load_model
from .qoi import ClassContrast, ClassLogit, EmbeddingSimilarity, TokenContrast
from .study import Study, explain_many
from .results import (
    AttentionPattern,
    AttentionStep,
    EmbeddingPattern,
    EmbeddingStep,
    Explanation,
    RouteCandidate,
    WordResult,
)

__version__ = "0.1.0"

__all__ = [
    "load_model", "InfluenceModel", "explain", "iter_explain", "ExplanationStream",
    "TokenContrast", "ClassContrast", "ClassLogit", "EmbeddingSimilarity", "BASELINES",
    "Explanation", "WordResult", "EmbeddingPattern", "EmbeddingStep", "AttentionPattern", "AttentionStep",
    "RouteCandidate", "InfluenceError", "InputError", "QoIError", "UnsupportedModelError",
    "ModelNotAvailableError", "OutOfMemoryError", "explain_many", "Study",
]


def __getattr__(name):  # lazy widgets: the engine never imports them
    if name in ("Explorer", "PatternGraph", "InfluenceBars", "CompareView", "TaskDashboard", "StudyView"):
        from . import widgets

        return getattr(widgets, name)
    raise AttributeError(name)
