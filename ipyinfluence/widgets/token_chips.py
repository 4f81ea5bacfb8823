"""``TokenChips``: one toggle per source word to pick which patterns are drawn (several at
once; all by default), plus "all" / "none" shortcuts.

Each chip has the CSS class ``ipyinfluence-chip`` (and ``ipyinfluence-chip-done`` once
its word is computed) so browser tests can find them.
"""

from __future__ import annotations

from typing import Iterable, Optional

import ipywidgets as widgets
import traitlets

from ..results import WordResult
from .style import fmt


class TokenChips(widgets.HBox):
    """``selected`` holds the chosen source positions, in sentence order."""

    selected = traitlets.List(traitlets.Int())

    def __init__(self, **kwargs):
        self.chips: dict[int, widgets.ToggleButton] = {}
        # Worded and styled apart from the word chips: a token "all" or "none" is a chip too.
        self.all_button = widgets.Button(description="show all", icon="check-square-o", button_style="info",
                                         layout=widgets.Layout(width="auto"), tooltip="show every source word")
        self.none_button = widgets.Button(description="hide all", icon="square-o", button_style="info",
                                          layout=widgets.Layout(width="auto"), tooltip="hide every pattern")
        self.all_button.on_click(lambda _b: self.select(None))
        self.none_button.on_click(lambda _b: self.select([]))
        self._quiet = False
        self._tokens: list[str] = []
        super().__init__([], layout=widgets.Layout(flex_flow="row wrap", align_items="center"), **kwargs)
        self.add_class("ipyinfluence-chips")

    def set_words(self, tokens: list[str], sources: Iterable[int], keep_selection: bool = False,
                  selected: Optional[Iterable[int]] = None) -> None:
        """One chip per source position, those in ``selected`` selected (None: all; made so,
        not switched after: a chip switched is a message) (``keep_selection``: the same words
        as now keep their chips, selection and "done" marks; :meth:`show_done` updates those)."""
        sources = list(sources)
        if keep_selection and list(tokens) == self._tokens and sources == list(self.chips):
            return
        self._tokens = list(tokens)
        self.chips = {}
        on = None if selected is None else {int(p) for p in selected}
        for p in sources:
            chip = widgets.ToggleButton(value=on is None or p in on, description=tokens[p], tooltip=f"position {p}",
                                        layout=widgets.Layout(width="auto", margin="1px"),
                                        _dom_classes=("ipyinfluence-chip",))
            chip.observe(self._on_chip, names="value")
            self.chips[p] = chip
        self.children = [widgets.Label("show:")] + list(self.chips.values()) + [self.all_button, self.none_button]
        self.selected = [p for p, chip in self.chips.items() if chip.value]

    def mark_done(self, word: WordResult) -> None:
        """Mark one word's chip done (public: the Explorer itself batches with :meth:`show_done`)."""
        self._show_chip(word.position, word)

    def show_done(self, words: dict[int, WordResult]) -> None:
        """Mark exactly these positions done (the others not): a message only for a chip
        whose mark or tooltip changes, so a batched redraw sends few (issue 10.8)."""
        for p in self.chips:
            self._show_chip(p, words.get(p))

    def _show_chip(self, position: int, word: Optional[WordResult]) -> None:
        chip = self.chips.get(position)
        if chip is None:
            return
        tooltip = f"position {position}" + (f": g = {fmt(word.total_influence)}" if word is not None else "")
        classes = tuple(c for c in chip._dom_classes if c != "ipyinfluence-chip-done") + (
            ("ipyinfluence-chip-done",) if word is not None else ())
        with chip.hold_sync():  # one message per changed chip, none for an unchanged one
            if chip.tooltip != tooltip:
                chip.tooltip = tooltip
            if tuple(chip._dom_classes) != classes:
                chip._dom_classes = classes

    def select(self, positions: Optional[Iterable[int]]) -> None:
        """Select these positions (None: all)."""
        keep = set(self.chips) if positions is None else {int(p) for p in positions}
        self._quiet = True
        try:
            for p, chip in self.chips.items():
                chip.value = p in keep
        finally:
            self._quiet = False
        self._sync()

    def _on_chip(self, _change) -> None:
        if not self._quiet:
            self._sync()

    def _sync(self) -> None:
        self.selected = [p for p, chip in self.chips.items() if chip.value]
