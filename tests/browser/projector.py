"""What a class sees of an Explorer on a 1280×720 projector: every label's bounding box
in a figure (any two overlapping), whether a figure scrolls sideways, whether a column's
token text and the pattern lines are on screen, and whether a button's text is cut.

Unlike :mod:`label_boxes` this does not tell labels apart by font size (presentation
mode draws larger type): every shown ``text.label`` of the figure counts."""

from __future__ import annotations

PROJECTOR = {"width": 1280, "height": 720}

FIGURE_JS = """
([root, screenWidth]) => {
  const fig = root.querySelector('.bqplot.figure') || root;
  const scroller = fig.parentElement;
  const view = scroller.getBoundingClientRect();
  const left = Math.max(view.left, 0), right = Math.min(view.right, screenWidth);
  const box = t => { const r = t.getBoundingClientRect();
    return {x: r.left, y: r.top, w: r.width, h: r.height, text: t.textContent}; };
  const shown = t => getComputedStyle(t).display !== 'none' && getComputedStyle(t).visibility !== 'hidden'
    && t.textContent.length > 0;
  const labels = [...fig.querySelectorAll('svg text.label')].filter(shown).map(box);
  const overlaps = [];
  for (let i = 0; i < labels.length; i++) for (let j = i + 1; j < labels.length; j++) {
    const a = labels[i], b = labels[j];
    const dx = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
    const dy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
    if (dx > 0.5 && dy > 0.5) overlaps.push([a.text, b.text]);
  }
  const onScreen = b => b.x >= left - 0.5 && b.x + b.w <= right + 0.5;
  const lines = [...fig.querySelectorAll('svg path.line')].filter(p => {
    const d = p.getAttribute('d');
    const s = getComputedStyle(p);
    return d && d.length > 4 && !d.includes('NaN') && s.display !== 'none' && s.opacity !== '0'
      && p.getBoundingClientRect().width + p.getBoundingClientRect().height > 0;
  }).map(p => p.getBoundingClientRect());
  const svg = fig.querySelector('svg').getBoundingClientRect();
  return {
    labels: labels.length, texts: labels.map(b => b.text), overlaps,
    off_screen: labels.filter(b => !onScreen(b)).map(b => b.text),
    lines: lines.length,
    lines_off_screen: lines.filter(r => r.left < left - 1 || r.right > right + 1).length,
    scrolls: scroller.scrollWidth > scroller.clientWidth + 1,
    figure_width: fig.getBoundingClientRect().width, svg_width: svg.width, visible_width: right - left,
    figure_height: fig.getBoundingClientRect().height,
  };
}
"""


def figure_report(page, locator) -> dict:
    """Labels, overlaps and what is on screen of the bqplot figure inside ``locator``."""
    return page.evaluate(FIGURE_JS, [locator.element_handle(), PROJECTOR["width"]])


# Labels stand still for two polls and the figure has its laid-out width: settled.
SETTLED_JS = """
el => {
  const f = el.querySelector('.bqplot.figure');
  if (!f) return false;
  const sig = [...f.querySelectorAll('svg text.label')].map(t => {
    const r = t.getBoundingClientRect(); return `${t.textContent}@${r.left.toFixed(1)},${r.top.toFixed(1)}`; })
    .join(';') + '|' + f.getBoundingClientRect().width.toFixed(0) + '|' + f.querySelector('svg').getBoundingClientRect().width.toFixed(0);
  const same = el.__lastSig === sig;
  el.__lastSig = sig;
  return same && sig.length > 10;
}
"""


def wait_settled(page, locator, timeout_ms: int = 30_000) -> None:
    page.wait_for_function(SETTLED_JS, arg=locator.element_handle(), polling=400, timeout=timeout_ms)


CUT_JS = """
root => [...root.querySelectorAll('button, .widget-label, .widget-html-content')].filter(e => {
  const r = e.getBoundingClientRect();
  return r.width > 0 && (e.scrollWidth > e.clientWidth + 1);
}).map(e => e.textContent.trim())
"""


def cut_texts(page, locator) -> list[str]:
    """Texts of buttons / labels inside ``locator`` wider than their box (drawn with "…")."""
    return page.evaluate(CUT_JS, locator.element_handle())
