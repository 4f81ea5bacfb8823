"""ipyinfluence: influence patterns (Guided Pattern Refinement) for BERT-family models and decoder LMs.

Engine (no widget imports): :func:`load_model`, the QoIs, :func:`explain` and
:func:`iter_explain`, and the plain result types in :mod:`ipyinfluence.results`.
Widgets live in :mod:`ipyinfluence.widgets` and are imported lazily.
"""

import sys as _sys

from .errors import (
    InfluenceError,
    InputError,
    ModelNotAvailableError,
    OutOfMemoryError,
    QoIError,
    UnsupportedModelError,
)
from . import explanation_stream as _explanation_stream
from . import tiny as _tiny  # registers load_model("tiny"), "tiny-classifier", "tiny-encoder", "tiny-llama", …
from . import gguf_models as _gguf_models  # registers load_model("smollm2-135m")
from .explanation_stream import METHODS, ExplanationStream, explain, iter_explain
from .integration import INPUT_BASELINES
from .model import InfluenceModel, load_model
from .quadrature import QUADRATURES
from .qoi import ClassContrast, ClassLogit, EmbeddingSimilarity, NextTokenContrast, NextTokenLogProb, TokenContrast
from .study import Study, explain_many
from .results import (
    LEVELS,
    AttentionPattern,
    AttentionStep,
    EmbeddingPattern,
    EmbeddingStep,
    Explanation,
    RouteCandidate,
    WordResult,
)

__version__ = "0.1.0"

BASELINES = INPUT_BASELINES  # the input baselines b (SPEC §2); the old name, kept
# ``ipyinfluence.explain`` is the function; the module it used to name is
# ``ipyinfluence.explanation_stream``, still importable under the old path.
_sys.modules.setdefault(__name__ + ".explain", _explanation_stream)

__all__ = [
    "load_model", "InfluenceModel", "explain", "iter_explain", "ExplanationStream",
    "TokenContrast", "ClassContrast", "ClassLogit", "EmbeddingSimilarity", "NextTokenContrast", "NextTokenLogProb",
    "BASELINES", "INPUT_BASELINES",
    "METHODS", "LEVELS", "QUADRATURES",
    "Explanation", "WordResult", "EmbeddingPattern", "EmbeddingStep", "AttentionPattern", "AttentionStep",
    "RouteCandidate", "InfluenceError", "InputError", "QoIError", "UnsupportedModelError",
    "ModelNotAvailableError", "OutOfMemoryError", "explain_many", "Study",
]


def __getattr__(name):  # lazy widgets: the engine never imports them
    if name in ("Explorer", "PatternGraph", "InfluenceBars", "CompareView", "TaskDashboard", "StudyView",
                "StepThrough", "ColouredSentence"):
        from . import widgets

        return getattr(widgets, name)
    raise AttributeError(name)
