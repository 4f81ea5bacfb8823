"""What the views draw differently for a causal LM (SPEC §10), in one place so the views
call it from a few lines.

* The **staircase**: a decoder's pattern never moves to an earlier position, so nodes left
  of the first shown word cannot be on any shown pattern: they are drawn pale. The QoI
  reads the prediction after the last position: its node sits above that column (not in
  the middle, where an encoder's sentence-level QoI sits) and the last token is marked ``⇒``.
* A **BOS** token (the tokenizer's ``bos_token`` at position 0) is written ``BOS``: it is
  the same row in every text (the baseline keeps it), so it is context, not a word.
* A byte-level or SentencePiece **space marker** (``Ġ``, ``▁``) at a token's start is
  written ``␣``: the leading space is part of a decoder's token (``␣Mary`` ≠ ``Mary``).
* **Grouped-query heads** are labelled ``H<q> (kv <g>)``, ``g = q // (heads / kv heads)``,
  so heads that share a key/value projection read as a group.

The Explanation's JSON does not say whether the model was causal: the Explorer hands
:class:`DecoderInfo` (from the model) to its views; a view without one draws as for encoders.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Optional

from .escape import esc

UNREACHABLE_COLOR = "#eeeeee"  # paler than the grid's nodes: outside every shown staircase
PREDICTION_MARK = " ⇒"
BOS_TEXT = "BOS"
SPACE_MARKERS = ("Ġ", "▁")  # GPT-2 / Llama-3 byte-level BPE, SentencePiece
SHOWN_SPACE = "␣"


def shown_token(text: str) -> str:
    """A decoder token as read: its leading space marker written ``␣``."""
    return SHOWN_SPACE + text[1:] if text[:1] in SPACE_MARKERS and len(text) > 1 else text


@dataclass(frozen=True)
class DecoderInfo:
    bos_token: Optional[str]
    num_heads: int
    num_kv_heads: int

    @classmethod
    def of(cls, model) -> Optional["DecoderInfo"]:
        """The decoder facts of ``model``, or None for an encoder (or no model)."""
        if model is None or not getattr(model, "causal", False):
            return None
        heads = int(model.num_heads)
        kv = int(getattr(model.weights, "num_kv_heads", None) or heads)
        return cls(getattr(model.tokenizer, "bos_token", None), heads, kv)

    @property
    def group_size(self) -> int:
        return max(1, self.num_heads // max(1, self.num_kv_heads))

    def head_label(self, head: int) -> str:
        """``H<q> (kv <g>)`` under grouped-query attention, ``H<q>`` otherwise."""
        if self.num_kv_heads >= self.num_heads:
            return f"H{head}"
        return f"H{head} (kv {head // self.group_size})"

    def head_text(self, text: str) -> str:
        """A placed head label (``H3`` or ``H0·3``) with its KV groups."""
        m = re.fullmatch(r"H(\d+(?:·\d+)*)", text)
        if m is None or self.num_kv_heads >= self.num_heads:
            return text
        heads = [int(h) for h in m.group(1).split("·")]
        return f"{text} (kv {'·'.join(str(h // self.group_size) for h in heads)})"

    def is_bos(self, tokens: list[str], position: int) -> bool:
        return position == 0 and bool(tokens) and self.bos_token is not None and tokens[0] == self.bos_token

    def token_texts(self, texts: list[str], tokens: list[str]) -> list[str]:
        """The token texts under the grid: BOS marked, the predicting position marked ``⇒``."""
        out = [shown_token(t) for t in texts]
        if out and self.is_bos(tokens, 0):
            out[0] = BOS_TEXT
        if out:
            out[-1] = out[-1] + PREDICTION_MARK
        return out

    def for_layout(self, explanation):
        """The explanation as the geometry should place it: the QoI above the last column."""
        if explanation is None or not explanation.tokens:
            return explanation
        return dataclasses.replace(explanation, readout_position=len(explanation.tokens) - 1)

    def grid_colors(self, grid: list[tuple[float, int]], shown: list[int], num_tokens: int,
                    color: str) -> list[str]:
        """Grid node colours: pale left of the first shown word (no shown pattern gets there)."""
        first = min(shown) if shown else 0
        top = max((r for _x, r in grid), default=0)
        return [color if (r == top or x >= first) else UNREACHABLE_COLOR for x, r in grid]

    def legend_html(self, tokens: list[str]) -> str:
        bos = f" · <b>{BOS_TEXT}</b> = {esc(self.bos_token or '')}" if self.is_bos(tokens, 0) else ""
        gqa = (f" · H<i>q</i> (kv <i>g</i>): query head <i>q</i> reads key/value head "
               f"<i>g</i> = <i>q</i> // {self.group_size}") if self.num_kv_heads < self.num_heads else ""
        return (f"<br><small class='ipyinfluence-causal'>Causal LM: a pattern only moves right (a staircase); "
                f"pale nodes are left of every shown word, out of reach. {esc(PREDICTION_MARK.strip())} marks "
                f"the last position, whose next token the QoI reads{bos}{gqa}.</small>")


def decorate_graph(graph, expl, lay, grid, default_color: str) -> None:
    """Apply the decoder marks to a drawn :class:`~.pattern_graph.PatternGraph` (grid colours,
    token texts, room for the head labels, which are placed with :meth:`DecoderInfo.head_text`);
    with no ``graph.decoder`` the grid gets its one colour back."""
    info: Optional[DecoderInfo] = getattr(graph, "decoder", None)
    if info is None:
        if list(graph.grid.colors) != [default_color]:
            graph.grid.colors = [default_color]
        return
    shown = [w.position for w in lay.words]
    graph.grid.colors = info.grid_colors(grid, shown, len(expl.tokens), default_color)
    graph.token_labels.text = info.token_texts(list(graph.token_labels.text), expl.tokens)
    rows = getattr(graph, "token_layout", None)
    if getattr(graph, "_own_scales", False) and graph.head_placements and rows is not None:
        # a label wider than the room made beside the last column: widen the figure to it
        right = max(h.x + h.width_px / 2 / rows.col_px for h in graph.head_placements) + 0.2
        if right > graph.scales["x"].max:
            graph.scales["x"].max = right
            graph.fit_size(len(expl.tokens), expl.num_layers, rows)


RIGHT_ROOM_PX = 120  # a decoder's head labels into the last column ("H0·2 (kv 0·0)") sit right of it


def right_room(view, col_px: float) -> float:
    """Columns of room right of the last one (0 for encoders): every decoder pattern ends
    there, so its head labels are placed beside it, past the grid."""
    return RIGHT_ROOM_PX / col_px if info_of(view) is not None else 0.0


def info_of(view) -> Optional[DecoderInfo]:
    return getattr(view, "decoder", None)


def layout_explanation(view, explanation):
    """``explanation`` as ``view``'s geometry should place it (the QoI above the last column
    for a decoder; unchanged otherwise)."""
    info = info_of(view)
    return info.for_layout(explanation) if info is not None else explanation


def route_text(view, text: str) -> str:
    """A candidate's text with grouped-query head labels (``… via head 3`` → ``… via H3 (kv 1)``)."""
    info = info_of(view)
    if info is None or info.num_kv_heads >= info.num_heads:
        return text
    return re.sub(r"\bhead (\d+)\b", lambda m: info.head_label(int(m.group(1))), text)


def token_labels(view, texts: list[str], tokens: list[str]) -> list[str]:
    info = info_of(view)
    return info.token_texts(texts, tokens) if info is not None else list(texts)


def step_grid_colors(view, xs: list[float], ys: list[int], source: int, color: str) -> list[str]:
    """A step-through's grid: pale left of the word stepped through (out of its reach)."""
    if info_of(view) is None:
        return [color]
    top = max(ys, default=0)
    return [color if (y == top or x >= source) else UNREACHABLE_COLOR for x, y in zip(xs, ys)]


def sentence_labels(view, tokens: list[str]) -> list[str]:
    """The coloured sentence's token labels: a decoder's BOS written ``BOS``."""
    info = info_of(view)
    if info is None:
        return list(tokens)
    shown = [shown_token(t) for t in tokens]
    return [BOS_TEXT] + shown[1:] if info.is_bos(tokens, 0) else shown


def set_views(x, model) -> None:
    """Hand the Explorer ``x``'s views the decoder facts of ``model`` (None for encoders)."""
    info = DecoderInfo.of(model)
    for view in (x.graph, x.step_through, x.sentence):
        view.decoder = info
