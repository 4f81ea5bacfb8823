"""Integration rules: accuracy and cost per rule and step count (issue 11.1).

For each model, every setting (``paper`` at 11/21/51/101 points, ``gauss-legendre`` at
4…32 nodes, ``steps="auto"``) is compared with a converged reference, Gauss–Legendre
with 256 nodes on a float64 copy of the same model:

* **g err**: ``max_i |g_i − g_i^ref| / max_i |g_i^ref|`` (worst sentence);
* **emb err / att err**: the same for the pattern influences, embedding and attention level;
* **emb = / att =**: the share of pattern choices equal to the reference's, per word and
  layer (embedding: the chosen positions; attention: the chosen (position, head-or-skip));
* **time**: process CPU time of ``explain`` (both levels, all sentences, one torch thread)
  over paper/51's, one run; CPU time, not wall time, because on the shared box a process
  gets a varying share of a core (the wall ratio is printed too).

The verdict names the cheapest setting at least as accurate as paper/51 on every model
(errors no larger, choice shares no smaller): the Explorer's default.

    python benchmarks/quadrature.py                    # minilm (2 sentences), bert-small, bert-base
    python benchmarks/quadrature.py --models minilm --repeat 2
    # one process per model (in parallel on a shared box), then one table and verdict:
    python benchmarks/quadrature.py --models minilm --save /tmp/q-minilm.json   # … likewise per model
    python benchmarks/quadrature.py --load /tmp/q-minilm.json /tmp/q-bert-small.json /tmp/q-bert-base.json
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from configs import MODELS, Case, build_model, load_average, make_case, make_qoi  # noqa: E402

from ipyinfluence import explain  # noqa: E402
from ipyinfluence.explanation_stream import resolve_sources  # noqa: E402

SETTINGS = [("paper", 11), ("paper", 21), ("paper", 51), ("paper", 101),
            ("gauss-legendre", 4), ("gauss-legendre", 8), ("gauss-legendre", 12), ("gauss-legendre", 16),
            ("gauss-legendre", 20), ("gauss-legendre", 24), ("gauss-legendre", 32), ("gauss-legendre", "auto")]
BASE = ("paper", 51)
REFERENCE = ("gauss-legendre", 256)
# model -> (sentence lengths in tokens, source words per sentence; None = all)
WORKLOADS = {"minilm": ((11, 20), None), "bert-small": ((11,), None), "bert-base": ((11,), 2), "guard": ((11,), None)}


def label(setting) -> str:
    rule, steps = setting
    return f"{'GL' if rule == 'gauss-legendre' else 'paper'}/{steps}"


def run(cases, model, setting, repeat: int = 1):
    """Min CPU and wall time over ``repeat`` runs of ``explain`` on every case, and the last results."""
    rule, steps = setting
    cpu = wall = float("inf")
    for _ in range(repeat):
        c, t = time.process_time(), time.perf_counter()
        out = [explain(model, c_.text, c_.qoi, sources=c_.sources, steps=steps, quadrature=rule) for c_ in cases]
        cpu, wall = min(cpu, time.process_time() - c), min(wall, time.perf_counter() - t)
    return (cpu, wall), out


def rel_err(values, ref) -> float:
    scale = max(abs(r) for r in ref) or 1.0
    return max(abs(v - r) for v, r in zip(values, ref)) / scale


def compare(expls, refs) -> dict:
    """Errors (worst sentence) and shares of equal choices (all words and layers) against the reference."""
    g = emb = att = 0.0
    emb_same = emb_all = att_same = att_all = 0
    for e, r in zip(expls, refs):
        g = max(g, rel_err([w.total_influence for w in e.words], [w.total_influence for w in r.words]))
        emb = max(emb, rel_err([w.embedding.influence for w in e.words], [w.embedding.influence for w in r.words]))
        att = max(att, rel_err([w.attention.influence for w in e.words], [w.attention.influence for w in r.words]))
        for we, wr in zip(e.words, r.words):
            for se, sr in zip(we.embedding.steps, wr.embedding.steps):
                emb_same += se.chosen == sr.chosen
                emb_all += 1
            for se, sr in zip(we.attention.steps, wr.attention.steps):
                att_same += [(c.position, c.route) for c in se.chosen] == [(c.position, c.route) for c in sr.chosen]
                att_all += 1
    return {"g": g, "emb": emb, "att": att, "emb_same": emb_same / emb_all, "att_same": att_same / att_all}


def text_case(spec, model, text: str, max_words: int | None) -> Case:
    """A case for a sentence of your own (``--texts``), every position or the first ``max_words``."""
    encoded, qoi = model.encode(text), make_qoi(spec)
    sources = resolve_sources(encoded.tokens, None, qoi.bind(model, encoded).readout_position)
    return Case(spec, len(encoded), model, text, qoi, sources[:max_words] if max_words else sources, len(sources))


def measure(name: str, repeat: int, lengths=None, texts=None) -> list[dict]:
    spec = MODELS[name]
    default_lengths, words = WORKLOADS[name]
    lengths = lengths or default_lengths
    model = build_model(spec)
    if texts:
        cases = [text_case(spec, model, t, words) for t in texts]
    else:
        cases = [make_case(spec, n, model=model, max_words=words) for n in lengths]
    reference = copy.deepcopy(model).to(torch.float64)
    t = time.perf_counter()
    _, refs = run(cases, reference, REFERENCE)
    print(f"# {name}: reference {label(REFERENCE)} float64 in {time.perf_counter() - t:.1f}s "
          f"({', '.join(f'{c.tokens} tokens/{len(c.sources)} words' for c in cases)}); load {load_average()}",
          flush=True)
    del reference
    run(cases[:1], model, ("gauss-legendre", 2))  # warm-up: first-call costs are not a rule's
    rows = []
    for setting in SETTINGS:
        (seconds, wall), expls = run(cases, model, setting, repeat)
        steps = "/".join(str(e.steps) for e in expls)
        rows.append({"model": name, "setting": label(setting), "steps": steps, "seconds": seconds, "wall": wall,
                     "steps_total": sum(e.steps for e in expls), **compare(expls, refs)})
        print(f"  {label(setting):9} steps {steps:7} {seconds:7.2f} CPU s {wall:7.2f} wall s  g err {rows[-1]['g']:.2e}", flush=True)
    base = next(r for r in rows if r["setting"] == label(BASE))
    for r in rows:
        r["time"] = r["seconds"] / base["seconds"]
        r["wall_time"] = r["wall"] / base["wall"]
    return rows


def as_accurate(row, base) -> bool:
    return (row["g"] <= base["g"] and row["emb"] <= base["emb"] and row["att"] <= base["att"]
            and row["emb_same"] >= base["emb_same"] and row["att_same"] >= base["att_same"])


def pct(x: float) -> str:
    return f"{100 * x:.3g}%"


def table(rows) -> str:
    out = ["| model | setting | steps | g err | emb err | att err | emb = | att = | CPU s | CPU / paper-51 | wall / paper-51 | ≥ paper-51 |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        base = next(b for b in rows if b["model"] == r["model"] and b["setting"] == label(BASE))
        out.append(f"| {r['model']} | {r['setting']} | {r['steps']} | {pct(r['g'])} | {pct(r['emb'])} | {pct(r['att'])} "
                   f"| {r['emb_same']:.0%} | {r['att_same']:.0%} | {r['seconds']:.1f} | {r['time']:.2f}× | {r['wall_time']:.2f}× | "
                   f"{'yes' if as_accurate(r, base) else 'no'} |")
    return "\n".join(out)


def verdict(rows) -> str:
    """The fixed setting with the fewest steps that is as accurate as paper/51 on every model."""
    models = sorted({r["model"] for r in rows}, key=[r["model"] for r in rows].index)
    ok = []
    for setting in SETTINGS:
        if setting[1] == "auto":
            continue
        mine = [next((r for r in rows if r["model"] == m and r["setting"] == label(setting)), None) for m in models]
        if None in mine:  # a setting some saved run did not measure
            continue
        bases = [next(r for r in rows if r["model"] == m and r["setting"] == label(BASE)) for m in models]
        if all(as_accurate(r, b) for r, b in zip(mine, bases)):
            ok.append((sum(r["time"] for r in mine) / len(mine), setting, mine))
    if not ok:
        return "No fixed setting is as accurate as paper/51 on every model."
    speed, setting, mine = min(ok, key=lambda t: t[0])
    per_model = ", ".join(f"{r['model']} {1 / r['time']:.1f}×" for r in mine)
    return (f"Cheapest setting at least as accurate as paper/51 on every model: {label(setting)} "
            f"(speed-up over paper/51: {per_model}; mean time ratio {speed:.2f}).")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="minilm,bert-small,bert-base", help="comma-separated; also 'guard'")
    p.add_argument("--repeat", type=int, default=1, help="runs per setting; the minimum time is kept")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: the shared box oversubscribes)")
    p.add_argument("--lengths", help="sentence lengths in tokens instead of the model's default, e.g. 14,17")
    p.add_argument("--texts", help="'|'-separated sentences instead of the generated ones")
    p.add_argument("--save", help="also write the rows to this JSON file")
    p.add_argument("--load", nargs="+", help="measure nothing: print the table and verdict of saved rows")
    a = p.parse_args(argv)
    if a.load:
        rows = [r for f in a.load for r in json.loads(Path(f).read_text())]
    else:
        torch.set_num_threads(a.threads)
        print(f"# load average {load_average()} at start, torch {torch.__version__}, {a.threads} thread(s)",
              flush=True)
        rows = []
        for name in a.models.split(","):
            rows += measure(name, a.repeat, [int(n) for n in a.lengths.split(",")] if a.lengths else None,
                            a.texts.split("|") if a.texts else None)
        print(f"# load average {load_average()} at end\n")
        if a.save:
            Path(a.save).write_text(json.dumps(rows, indent=1))
    print(table(rows))
    print("\n" + verdict(rows))


if __name__ == "__main__":
    main()
