"""Timing what a person sees in the Explorer, in the browser's own clock
(``performance.now()``): Cancel click → status, Run click → last word drawn.

Numbers go to ``tests/artifacts/explorer-timings.json`` (one entry per measurement) and
are printed (``pytest -s``); the tests assert what happened (the run stopped early, the
words kept are the kernel's), not how fast: speed is reported, never asserted.
"""

from __future__ import annotations

import json
import time

import nbformat
from browser_setup import ARTIFACTS

TIMINGS = ARTIFACTS / "explorer-timings.json"

# A run of ~52 words at ~0.2 s each (real engine work: steps=300 on the tiny model), so
# that a Cancel lands mid-run on any machine; the default constructor (no background=).
CANCEL_CODE = """
from ipyinfluence import TokenContrast
from ipyinfluence.tiny import tiny_model
from ipyinfluence.widgets import Explorer

model = tiny_model()
text = " ".join(["the author that the guards like [MASK] happy ."] + ["the pilots near the dancers smile ."] * 6)
explorer = Explorer(model, text=text, qoi=TokenContrast("is", "are"), steps=300)
explorer
"""


def write_notebook(path, code: str) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def record(name: str, **numbers) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    entries = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else []
    entries.append({"name": name, "when": time.strftime("%Y-%m-%d %H:%M:%S"), **numbers})
    TIMINGS.write_text(json.dumps(entries, indent=1) + "\n")
    print(f"\n[timing] {name}: {numbers}")


_WAIT_STATUS = """
function waitStatus(status, re, timeoutMs) {
  return new Promise((resolve, reject) => {
    const check = () => re.test(status.textContent);
    if (check()) return resolve(performance.now());
    const obs = new MutationObserver(() => { if (check()) { obs.disconnect(); resolve(performance.now()); } });
    obs.observe(status, {subtree: true, childList: true, characterData: true});
    setTimeout(() => { obs.disconnect(); reject(new Error(`status did not match ${re} in ${timeoutMs} ms: ${status.textContent}`)); }, timeoutMs);
  });
}
"""

# Waits until at least one word is done, clicks Cancel, and times the status changes:
# "Cancelling…" or "Cancelled" (the kernel got the click; since the run ends in the click's
# handler the two are one change) and "Cancelled after N of M" (the run stopped).
CANCEL_JS = """
async ([root, timeoutMs]) => {
""" + _WAIT_STATUS + """
  const status = root.querySelector('.ipyinfluence-status');
  const cancel = root.querySelector('button.ipyinfluence-cancel');
  await waitStatus(status, /Running: [1-9]\\d* of \\d+ words/, 120000);
  if (cancel.disabled) throw new Error('Cancel is disabled while the run is going');
  const t0 = performance.now();
  const heard = waitStatus(status, /Cancel(ling|led)/, timeoutMs);
  const stopped = waitStatus(status, /Cancelled after \\d+ of \\d+ words|Done: /, timeoutMs);
  cancel.click();
  const [t1, t2] = await Promise.all([heard, stopped]);
  return {ack_ms: t1 - t0, stop_ms: t2 - t0, status: status.textContent,
          chips_done: root.querySelectorAll('.ipyinfluence-chip.ipyinfluence-chip-done').length};
}
"""

# Clicks Run and times until the status says Done and the graph shows `segments` pattern
# segments (the last word drawn). The poll counts drawn line paths (cheap); only when that
# count is reached does it run the full check (visible, coloured: getComputedStyle over
# every path, tens of ms at 40 tokens), so the measuring does not slow the drawing it times.
RUN_TO_LAST_WORD_JS = """
async ([root, segments, nodeColor, gridColor, statsSrc, timeoutMs]) => {
  const stats = eval(statsSrc);
  const status = root.querySelector('.ipyinfluence-status');
  const graph = root.querySelector('.ipyinfluence-graph');
  const drawn = () => [...graph.querySelectorAll('svg path.line')].filter(p => {
    const d = p.getAttribute('d');
    return d && d.length > 4 && !d.includes('NaN');
  }).length;
  const t0 = performance.now();
  root.querySelector('button.ipyinfluence-run').click();
  for (;;) {
    if (/Done: /.test(status.textContent) && drawn() === segments) {
      const t1 = performance.now();
      if (stats([graph, nodeColor, gridColor]).edges === segments) return {ms: t1 - t0, status: status.textContent};
    }
    if (performance.now() - t0 > timeoutMs) {
      throw new Error(`not drawn in ${timeoutMs} ms: ${status.textContent}; ${stats([graph, nodeColor, gridColor]).edges} of ${segments} segments`);
    }
    await new Promise(r => setTimeout(r, 10));
  }
}
"""


def cancel_and_time(locator, timeout_ms: int = 60_000) -> dict:
    return locator.page.evaluate(CANCEL_JS, [locator.element_handle(), timeout_ms])


def run_until_drawn(locator, segments: int, timeout_ms: int = 300_000) -> dict:
    from jupyter_ui import GRAPH_STATS_JS, _colors

    return locator.page.evaluate(RUN_TO_LAST_WORD_JS,
                                 [locator.element_handle(), segments] + _colors() + [GRAPH_STATS_JS, timeout_ms])
