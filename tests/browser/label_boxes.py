"""What a person sees of the labels: their bounding boxes in the browser, and how many
pairs of them overlap (a pair counts when the boxes share more than half a pixel each
way). bqplot draws a ``Label`` mark's texts as ``text.label.element``; PatternGraph's
head labels are its only 11 px bold ones, its token texts its only 13 px ones and its
row names (x, h⁰, …, QoI) its only 12 px ones (geometry.HEAD_FONT_PX / TOKEN_FONT_PX). The bar chart's x labels
are the x axis's tick texts."""

from __future__ import annotations

LABEL_BOXES_JS = """
([graph, bars]) => {
  const box = t => { const r = t.getBoundingClientRect();
    return {x: r.left, y: r.top, w: r.width, h: r.height, text: t.textContent}; };
  const shown = t => getComputedStyle(t).display !== 'none' && t.textContent.length > 0;
  const overlaps = boxes => {
    const pairs = [];
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      const dx = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
      const dy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
      if (dx > 0.5 && dy > 0.5) pairs.push([a.text, b.text]);
    }
    return pairs;
  };
  const labels = [...graph.querySelectorAll('svg text.label')].filter(shown);
  const size = t => (t.getAttribute('style') || '').match(/font-size: *(\\d+)px/);
  const heads = labels.filter(t => size(t) && size(t)[1] === '11').map(box);
  const tokens = labels.filter(t => size(t) && size(t)[1] === '13').map(box);
  const rows = labels.filter(t => size(t) && size(t)[1] === '12').map(box);
  const out = {heads: heads.length, tokens: tokens.length, rows: rows.length, head_overlaps: overlaps(heads),
               token_overlaps: overlaps(tokens), head_token_overlaps: overlaps(heads.concat(tokens)).length
                 - overlaps(heads).length - overlaps(tokens).length,
               head_row_overlaps: overlaps(heads.concat(rows)).length - overlaps(heads).length
                 - overlaps(rows).length};
  if (bars) {
    const svg = bars.querySelector('svg').getBoundingClientRect();
    const ticks = [...bars.querySelectorAll('g.axis')][0];
    const texts = [...ticks.querySelectorAll('g.tick text')].filter(shown).map(box);
    out.bar_labels = texts.length;
    out.bar_overlaps = overlaps(texts);
    out.bar_clipped = texts.filter(b => b.x < svg.left - 0.5 || b.y < svg.top - 0.5 || b.x + b.w > svg.right + 0.5
                                       || b.y + b.h > svg.bottom + 0.5).map(b => b.text);
  }
  const fig = graph.querySelector('.ipyinfluence-graph-figure, .bqplot');
  out.graph_width = fig.getBoundingClientRect().width;
  const scroller = fig.parentElement;
  out.scrolls = scroller.scrollWidth > scroller.clientWidth;
  return out;
}
"""


def label_boxes(page, graph_locator, bars_locator=None) -> dict:
    """Overlap counts of a PatternGraph's head and token labels (and of an InfluenceBars'
    x labels, plus those cut off by the figure's edge)."""
    graph = graph_locator.element_handle()
    bars = bars_locator.element_handle() if bars_locator is not None else None
    return page.evaluate(LABEL_BOXES_JS, [graph, bars])
