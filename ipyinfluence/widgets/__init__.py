"""Jupyter widgets for influence patterns (ipywidgets + bqplot; pure Python).

* :class:`Explorer` — type a sentence, pick a QoI, run GPR, watch patterns stream in;
* :class:`PatternGraph` — the paper's Figure 3 picture of one explanation;
* :class:`InfluenceBars` — ``g_i`` and the pattern influences per word;
* :class:`CompareView` — several explanations side by side on shared scales;
* :class:`StepThrough` — GPR built one layer at a time, for teaching (paper Figure 2);
* :class:`ColouredSentence` — the sentence shaded by ``g_i``, click a word to pick it;
* :class:`StudyView` — a study over a sentence set: aggregate patterns, heat maps, ablation;
* :func:`to_svg`, :func:`to_html`, :func:`to_json`, :func:`save` — standalone exports.

The engine never imports this package; it only reads the engine's result types.
Importing it inside Google Colab turns on Colab's custom widget manager (bqplot needs it).
"""

from .colab import enable_colab_widgets
from .coloured_sentence import ColouredSentence
from .compare import CompareView
from .explorer import Explorer
from .export import save, to_html, to_json, to_svg
from .influence_bars import InfluenceBars, RankedInfluence
from .pattern_graph import PatternGraph
from .qoi_editor import QoIEditor
from .step_through import StepThrough
from .study_view import StudyView
from .task_dashboard import TaskDashboard
from .token_chips import TokenChips

enable_colab_widgets()

__all__ = ["Explorer", "PatternGraph", "InfluenceBars", "RankedInfluence", "CompareView", "StepThrough", "ColouredSentence",
           "TaskDashboard", "StudyView", "QoIEditor", "TokenChips",
           "to_svg", "to_html", "to_json", "save", "enable_colab_widgets"]
