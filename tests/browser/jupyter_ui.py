"""Driving JupyterLab / Notebook 7 pages through ``window.jupyterapp`` (the servers run with
``expose_app_in_browser``), and reading what the ipyinfluence widgets drew.

Everything waits on the application's own promises (``context.ready``,
``sessionContext.ready``, the run-all command's promise) or on the DOM, never on sleeps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

APP_READY_JS = "() => !!(window.jupyterapp && window.jupyterapp.shell)"

# Resolves with the panel of `path` once its document and kernel session are ready.
_FIND_PANEL = """
async function findPanel(path, timeoutMs) {
  const app = window.jupyterapp;
  await app.started;
  await app.restored;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const w = app.shell.currentWidget;
    if (w && w.context && w.context.path === path) {
      await w.context.ready;
      await w.sessionContext.ready;
      return w;
    }
    if (Date.now() > deadline) {
      throw new Error(`notebook ${path} did not open; current widget: ${w && w.context ? w.context.path : w}`);
    }
    await new Promise(r => setTimeout(r, 100));
  }
}
"""

WAIT_READY_JS = """
async ({path}) => {
""" + _FIND_PANEL + """
  const panel = await findPanel(path, 60000);
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {kernel: kernel ? kernel.name : null, cells: panel.content.widgets.length};
}
"""

# Runs every cell and resolves when the last one finished; returns the error outputs.
RUN_ALL_JS = """
async ({path, timeoutMs}) => {
""" + _FIND_PANEL + """
  const app = window.jupyterapp;
  const panel = await findPanel(path, 60000);
  app.shell.activateById(panel.id);
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`run-all of ${path} did not finish in ${timeoutMs / 1000} s`)), timeoutMs));
  const ok = await Promise.race([app.commands.execute('notebook:run-all-cells'), timeout]);
  const errors = [];
  panel.content.widgets.forEach((cell, i) => {
    if (cell.model.type !== 'code') return;
    for (const out of cell.model.outputs.toJSON()) {
      if (out.output_type === 'error') errors.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
    }
  });
  return {ok: ok !== false, errors};
}
"""

# Runs `code` in the notebook's kernel (no new cell) and returns its stdout.
KERNEL_EXEC_JS = """
async ({path, code}) => {
""" + _FIND_PANEL + """
  const panel = await findPanel(path, 60000);
  const future = panel.sessionContext.session.kernel.requestExecute({code, store_history: false});
  let text = '';
  future.onIOPub = msg => {
    const t = msg.header.msg_type;
    if (t === 'stream') text += msg.content.text;
    if (t === 'error') text += `ERROR ${msg.content.ename}: ${msg.content.evalue}`;
  };
  await future.done;
  return text;
}
"""

# What a PatternGraph drew. bqplot draws every Scatter point as a `path.dot` and every
# line of a Lines mark as a `path.line`. The graph has three Scatter marks told apart by
# colour: the grey grid, the pattern nodes (NODE_COLOR) and the translucent edge handles
# (word colours); each pattern segment is one `path.line`, dashed for skips.
GRAPH_STATS_JS = """
([graph, nodeColor, gridColor]) => {
  const rgb = hex => `rgb(${parseInt(hex.slice(1, 3), 16)}, ${parseInt(hex.slice(3, 5), 16)}, ${parseInt(hex.slice(5, 7), 16)})`;
  const shown = el => {
    const s = getComputedStyle(el);
    return s.display !== 'none' && s.visibility !== 'hidden' && s.opacity !== '0';
  };
  const dots = [...graph.querySelectorAll('svg path.dot')].filter(p => p.getAttribute('d') && shown(p));
  const lines = [...graph.querySelectorAll('svg path.line')].filter(p => {
    const d = p.getAttribute('d');
    return d && d.length > 4 && !d.includes('NaN') && shown(p);
  });
  const dashed = lines.filter(p => {
    const s = getComputedStyle(p).strokeDasharray;
    return s && s !== 'none';
  });
  return {
    nodes: dots.filter(p => getComputedStyle(p).fill === rgb(nodeColor)).length,
    grid: dots.filter(p => getComputedStyle(p).fill === rgb(gridColor)).length,
    dots: dots.length,
    edges: lines.length,
    dashed: dashed.length,
    signature: lines.map(p => p.getAttribute('d') + '|' + getComputedStyle(p).stroke).sort().join(';'),
  };
}
"""


@dataclass
class GraphStats:
    nodes: int  # pattern nodes
    grid: int  # grid points
    dots: int  # every scatter point (grid + nodes + edge handles)
    edges: int  # pattern segments
    dashed: int  # skip segments
    signature: str  # every drawn segment's geometry and colour


def _colors() -> list[str]:
    from ipyinfluence.widgets.style import GRID_COLOR, NODE_COLOR

    return [NODE_COLOR, GRID_COLOR]


def graph_stats(locator) -> GraphStats:
    handle = locator.element_handle()
    return GraphStats(**locator.page.evaluate(GRAPH_STATS_JS, [handle] + _colors()))


def wait_for_app(page, timeout_ms: int = 60_000) -> None:
    page.wait_for_function(APP_READY_JS, timeout=timeout_ms)


def wait_notebook_ready(page, path: str) -> dict:
    return page.evaluate(WAIT_READY_JS, {"path": path})


def run_all(page, path: str, timeout_s: float = 300) -> dict:
    """Run every cell; returns ``{"ok": bool, "errors": ["cell i: Name: message", ...]}``."""
    return page.evaluate(RUN_ALL_JS, {"path": path, "timeoutMs": int(timeout_s * 1000)})


def kernel_exec(page, path: str, code: str) -> str:
    return page.evaluate(KERNEL_EXEC_JS, {"path": path, "code": code})


def wait_graph_drawn(page, graph_locator, min_nodes: int = 1, min_edges: int = 1, timeout_ms: int = 120_000) -> None:
    """Wait until the graph has at least that many pattern nodes and segments drawn."""
    handle = graph_locator.element_handle(timeout=timeout_ms)
    page.wait_for_function(
        f"([g, n, e, nc, gc]) => {{ const s = ({GRAPH_STATS_JS})([g, nc, gc]); return s.nodes >= n && s.edges >= e; }}",
        arg=[handle, min_nodes, min_edges] + _colors(), timeout=timeout_ms)


def wait_graph_changed(page, graph_locator, signature: str, timeout_ms: int = 30_000) -> None:
    handle = graph_locator.element_handle(timeout=timeout_ms)
    page.wait_for_function(
        f"([g, old, nc, gc]) => ({GRAPH_STATS_JS})([g, nc, gc]).signature !== old",
        arg=[handle, signature] + _colors(), timeout=timeout_ms)


def wait_graph_edges(page, graph_locator, edges: int, timeout_ms: int = 30_000) -> None:
    """Wait until exactly ``edges`` pattern segments are drawn (after a redraw settles)."""
    handle = graph_locator.element_handle(timeout=timeout_ms)
    page.wait_for_function(
        f"([g, n, nc, gc]) => ({GRAPH_STATS_JS})([g, nc, gc]).edges === n",
        arg=[handle, edges] + _colors(), timeout=timeout_ms)


def wait_graph_signature(page, graph_locator, signature: str, timeout_ms: int = 30_000) -> None:
    """Wait until the drawn segments are exactly those of ``signature``."""
    handle = graph_locator.element_handle(timeout=timeout_ms)
    page.wait_for_function(
        f"([g, sig, nc, gc]) => ({GRAPH_STATS_JS})([g, nc, gc]).signature === sig",
        arg=[handle, signature] + _colors(), timeout=timeout_ms)


# What the kernel says the Explorer's graph should show (the explanation it drew).
EXPECTED_DRAWING = """
import json
from ipyinfluence.widgets.geometry import layout as _layout
_lay = _layout(explorer.explanation, explorer.graph.selected, explorer.graph.level)
print(json.dumps({
    "words": len(explorer.explanation.words), "sources": len(explorer.explanation.sources),
    "segments": sum(len(d.segments) for d in _lay.words),
    "dashed": sum(s.style == "dashed" for d in _lay.words for s in d.segments),
    "nodes": len(_lay.nodes()), "grid": len(_lay.grid()), "source_positions": list(explorer.explanation.sources),
    "per_word": {d.word.token + "_" + str(d.position): len(d.segments) for d in _lay.words},
}))
"""


def expected_drawing(page, path: str) -> dict:
    """Counts of what ``explorer``'s graph should show, from the kernel's own layout."""
    out = kernel_exec(page, path, EXPECTED_DRAWING)
    assert "ERROR" not in out, out
    return json.loads(out.strip().splitlines()[-1])
