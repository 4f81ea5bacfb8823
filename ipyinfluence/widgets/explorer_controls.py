"""The Explorer's controls and their layout (construction only; behaviour is in
:mod:`.explorer`). Each part has a stable CSS class (``ipyinfluence-run``, ...) that the
browser tests use."""

from __future__ import annotations

import ipywidgets as widgets

from ..integration import INPUT_BASELINES
from ..quadrature import DEFAULT_QUADRATURE, DEFAULT_STEPS  # noqa: F401  (explorer.py imports them here)
from .coloured_sentence import ColouredSentence
from .decoder_controls import BaselineField
from .escape import esc
from .influence_bars import RankedInfluence
from .pattern_graph import FIT_PX, PatternGraph
from .progress import RunProgress
from .qoi_editor import QoIEditor
from .step_through import StepThrough
from .style import PALETTES
from .token_chips import TokenChips

LEVEL_OPTIONS = ("embedding", "attention")
STEPS_RANGE = (2, 5000)
TOP_K_RANGE = (1, 512)
PALETTE_OPTIONS = [("green / red (paper)", "paper"), ("blue / orange (colour-blind safe)", "colorblind")]
QUADRATURE_OPTIONS = [("Gauss–Legendre", "gauss-legendre"), ("paper (linspace, mean)", "paper")]
# The Explorer's default rule is the engine's (Gauss–Legendre, 32 nodes), so a Run gives explain()'s g_i


def build_controls(x, methods, baseline: str, palette: str) -> None:
    """Create the Explorer ``x``'s widgets as attributes of ``x``."""
    W = widgets.Layout
    x.model_line = widgets.HTML()
    x.model_line.add_class("ipyinfluence-model")
    if x.model is None:
        what = "the default model" if x._model_source is None else esc(str(x._model_source))
        x.model_line.value = f"<b>Model</b>: {what} <i>(loads on the first run)</i>"
    x.text_box = widgets.Textarea(placeholder="Type a sentence", rows=2, continuous_update=False,
                                  layout=W(width="98%"))
    x.text_box.add_class("ipyinfluence-text")
    x.text_hint = widgets.HTML()
    x.text_hint.add_class("ipyinfluence-text-hint")
    x.qoi_editor = QoIEditor(x.model, x._qoi_arg)
    baselines = list(INPUT_BASELINES) + ([baseline] if baseline not in INPUT_BASELINES else [])
    x.baseline_box = widgets.Dropdown(options=baselines, value=baseline, description="baseline",
                                      layout=W(width="230px"))
    x.baseline_field = BaselineField()  # a decoder's token or counterfactual text
    x.method_box = widgets.Dropdown(options=methods, description="method", layout=W(width="200px"))
    x.level_toggle = widgets.ToggleButtons(options=list(LEVEL_OPTIONS), value="attention",
                                           tooltips=["π^e: one node per layer",
                                                     "π^a: also the head or skip route per layer"])
    x.level_toggle.style.button_width = "auto"  # "embedding" is 74 px of text: a fixed 90 px cut it
    x.steps_box = widgets.BoundedIntText(value=DEFAULT_STEPS, min=STEPS_RANGE[0], max=STEPS_RANGE[1],
                                         description="steps", layout=W(width="150px"))
    x.quadrature_box = widgets.Dropdown(options=QUADRATURE_OPTIONS, value=DEFAULT_QUADRATURE, description="rule",
                                        tooltip="integration rule over the path from the baseline to the input",
                                        layout=W(width="260px"))
    x.top_k_box = widgets.BoundedIntText(value=1, min=TOP_K_RANGE[0], max=TOP_K_RANGE[1], description="top_k",
                                         layout=W(width="150px"))
    x.palette_box = widgets.Dropdown(options=PALETTE_OPTIONS, value=palette if palette in PALETTES else "paper",
                                     description="colours", layout=W(width="300px"))
    x.only_selected_box = widgets.Checkbox(value=False, description="compute only the selected words",
                                           indent=False, layout=W(width="260px"))
    for w, cls in ((x.baseline_box, "baseline"), (x.method_box, "method"), (x.level_toggle, "level"),
                   (x.steps_box, "steps"), (x.quadrature_box, "quadrature"), (x.top_k_box, "top-k"),
                   (x.palette_box, "palette"),
                   (x.only_selected_box, "only-selected")):
        w.add_class(f"ipyinfluence-{cls}")
    x.run_button = widgets.Button(description="Run", button_style="primary", icon="play",
                                  tooltip="compute the influence patterns")
    x.run_button.add_class("ipyinfluence-run")
    x.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True,
                                     tooltip="stop now (keeps the words done)")
    x.cancel_button.add_class("ipyinfluence-cancel")
    x.progress = RunProgress()
    x.status_line = widgets.HTML()
    x.status_line.add_class("ipyinfluence-status")
    x.error_line = widgets.HTML()
    x.error_line.add_class("ipyinfluence-error")
    x.chips = TokenChips()
    x.sentence = ColouredSentence(palette=x.palette_box.value)
    x.graph = PatternGraph(palette=x.palette_box.value, fit_px=FIT_PX, presentation=x.presentation)
    x.bars = RankedInfluence(presentation=x.presentation)  # a readable ranked list (issue 19.8)
    x.step_through = StepThrough(palette=x.palette_box.value)
    # Collapsed, the accordion holds a placeholder: the step-through joins the page when first
    # opened, so its figure is first laid out at its real size (built hidden it was drawn at
    # zero size: "<rect> attribute width: A negative value" on every display, issue 19.10).
    x.step_through_placeholder = widgets.HTML("<i>Open to step through GPR for the picked word.</i>")
    x.step_through_box = widgets.Accordion(children=[x.step_through_placeholder],
                                           titles=("Step through GPR, one layer at a time",), selected_index=None)
    # collapsed: the step-through's figure is not redrawn on every push of a run
    x.step_through.graph_shown = False

    def opened(change) -> None:
        if change["new"] == 0 and x.step_through_box.children[0] is not x.step_through:
            x.step_through_box.children = [x.step_through]
        x.step_through.graph_shown = change["new"] == 0

    x.step_through_box.observe(opened, names="selected_index")
    x.export_buttons = {}
    for kind in ("svg", "html", "json"):
        # width "auto": a fixed 90 px cut "HTML" to "H…" under the icon (issue 19.9)
        b = widgets.Button(description=kind.upper(), icon="download", layout=W(width="auto", min_width="84px"),
                           tooltip=f"export the patterns as {kind.upper()}")
        b.add_class(f"ipyinfluence-export-{kind}")
        x.export_buttons[kind] = b
    x.export_label = widgets.HTML("export:", layout=W(width="auto", margin="0 6px 0 0"))  # a Label cut it to "expo"
    x.export_label.add_class("ipyinfluence-export-label")
    x.export_line = widgets.HTML()
    x.export_line.add_class("ipyinfluence-export")


# presentation=True: the sentence, the status and the step-through's words in larger type too
# (the graph and the ranked list size their own); only class names and sizes, no text
PRESENTATION_CSS = (
    "<style>.ipyinfluence-presentation .ipyinfluence-sentence .widget-toggle-button"
    "{font-size:18px !important;height:32px !important}"
    ".ipyinfluence-presentation .ipyinfluence-status,.ipyinfluence-presentation .ipyinfluence-step-header,"
    ".ipyinfluence-presentation .ipyinfluence-step-rule,.ipyinfluence-presentation .ipyinfluence-step-candidates"
    "{font-size:16px}</style>")


def layout_children(x) -> list:
    H = widgets.HBox
    middle = widgets.Layout(align_items="center")
    return [
        x.model_line,
        x.text_box,
        x.text_hint,
        x.qoi_editor,
        H([x.baseline_box, x.method_box, x.level_toggle]),
        x.baseline_field,
        H([x.steps_box, x.quadrature_box, x.top_k_box, x.palette_box], layout=widgets.Layout(flex_flow="row wrap")),
        H([x.run_button, x.cancel_button, x.progress], layout=middle),
        x.status_line,
        x.error_line,
        H([x.chips, x.only_selected_box], layout=widgets.Layout(align_items="center", flex_flow="row wrap")),
        x.sentence,
        x.graph,
        x.bars,
        x.step_through_box,
        H([x.export_label] + list(x.export_buttons.values()) + [x.export_line],
          layout=widgets.Layout(align_items="center", flex_flow="row wrap")),
    ] + ([widgets.HTML(PRESENTATION_CSS)] if x.presentation else [])
