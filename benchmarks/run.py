"""Speed of ``explain`` as ratios measured in one run (CPU; see benchmarks/README.md).

For each (model, sentence length):

* ``engine``: wall time of ``explain(..., level="attention", steps=51)`` for the source words;
* ``plain``: one batched no-grad forward of the Hugging Face encoder (eager attention,
  no LM head) over the same (words × steps) interpolated inputs; ``engine/plain`` is the
  headline ratio (goal ≤ 6);
* ``reference`` (11-token, 6-layer configs by default): the authors' algorithm structure
  in ``reference_gpr.py``, on the first ``--reference-words`` words, scaled linearly to all
  words (its words are independent passes); its patterns are checked against the engine's;
* memory (BERT-base, 64 tokens): peak RSS in fresh processes with the default
  ``max_batch`` and with ``max_batch=51*4``, and of the plain forward.

Each side is timed ``--repeat`` times, interleaved (engine, plain, engine, plain, ...), and
the minimum is kept: on a shared, noisy box the minimum is the least disturbed run, and
interleaving exposes both sides to the same background load.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import torch  # noqa: E402

from configs import LENGTHS, MODELS, STEPS, Case, build_model, make_case, plain_inputs, time_engine, \
    time_plain_forward  # noqa: E402
from reference_gpr import ReferenceResult, compare, reference_gpr  # noqa: E402

DEFAULT_CONFIGS = [f"{m}/{n}" for m in ("bert-small", "bert-base", "minilm") for n in LENGTHS]
QUICK_CONFIGS = ["minilm/11", "bert-small/11"]
# 64-token sentences explain only the first words (time grows linearly with words; the
# ratio is slightly pessimistic for the engine, whose one shared pass is then spread over
# fewer words). BERT-base/64 is timed once, by the memory probes, in fresh processes.
LONG_WORDS = 8
ISOLATED = {"bert-base/64"}
MEMORY_CONFIG = "bert-base/64"
MEMORY_MAX_BATCH = STEPS * 4


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        rev = subprocess.run(["git", "-C", str(HERE.parent), "describe", "--always", "--dirty"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return {"cpu": cpu, "cores": os.cpu_count(), "commit": rev, "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(),
            "date": _dt.date.today().isoformat()}


def _words_per_chunk(case: Case, max_batch: int | None, words: int) -> int:
    if max_batch is None:
        from ipyinfluence.explanation_stream import default_rows  # the engine's own sizing rule

        max_batch = default_rows(case.model, case.tokens, STEPS)
    return max(1, min(words, max_batch // STEPS))


def _probe(config: str, side: str, max_batch: int | None, max_words: int | None, threads: int | None) -> dict:
    cmd = [sys.executable, str(HERE / "memory_probe.py"), "--config", config, "--side", side]
    if max_batch:
        cmd += ["--max-batch", str(max_batch)]
    if max_words:
        cmd += ["--max-words", str(max_words)]
    if threads:
        cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _timed(fn, *args, **kwargs):
    """(wall seconds, process CPU seconds over all threads, result)."""
    c, w = time.process_time(), time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - w, time.process_time() - c, out


def time_case(case: Case, repeat: int, reference_words: int, log) -> dict:
    inputs = plain_inputs(case)
    # Warm-up (first-call costs: allocator, kernels, lazy imports), not timed.
    one_word = Case(case.spec, case.tokens, case.model, case.text, case.qoi, case.sources[:1], case.all_sources)
    time_engine(one_word, steps=2)
    with torch.no_grad():
        case.model.hf_model.base_model(inputs_embeds=inputs[:STEPS])
    if reference_words:  # forward-mode AD kernels have first-call costs too
        reference_gpr(case.model, case.text, case.qoi, steps=2, sources=case.sources[:1])
    engine, engine_cpu, plain, plain_cpu = [], [], [], []

    def engine_once():
        w, c, (_, res) = _timed(time_engine, case)
        engine.append(w)
        engine_cpu.append(c)
        return res

    result = None
    for r in range(repeat):
        result = engine_once()
        w, c, _ = _timed(time_plain_forward, case, inputs)
        plain.append(w)
        plain_cpu.append(c)
        log(f"    repeat {r + 1}/{repeat}: engine {engine[-1]:.2f}s ({engine_cpu[-1]:.2f} CPU-s)  "
            f"plain {plain[-1]:.2f}s ({plain_cpu[-1]:.2f} CPU-s)")
    del inputs
    # The engine/plain ratio uses the paired runs only (the same number of samples per side).
    row = {"config": case.key, "model": case.model.name, "shape": case.spec.shape, "tokens": case.tokens,
           "words": len(case.sources), "all_words": case.all_sources, "repeats": repeat,
           "engine_s": min(engine), "plain_s": min(plain), "engine_all_s": list(engine), "plain_all_s": plain,
           "engine_cpu_s": min(engine_cpu), "plain_cpu_s": min(plain_cpu),
           "engine_over_plain": min(engine) / min(plain), "engine_over_plain_cpu": min(engine_cpu) / min(plain_cpu)}
    row["engine_over_plain_paired_median"] = paired_median(row)
    if reference_words:
        k = min(reference_words, len(case.sources))
        log(f"    reference on {k} of {len(case.sources)} words, each after one more engine run ...")
        refs = []
        for j in range(k):
            engine_once()  # interleaved, so both sides see the same background load
            refs.append(reference_gpr(case.model, case.text, case.qoi, steps=STEPS, sources=[case.sources[j]]))
            log(f"    engine {engine[-1]:.2f}s ({engine_cpu[-1]:.2f} CPU-s)  reference word {j + 1}: "
                f"{refs[-1].seconds_per_word[0]:.2f}s ({refs[-1].cpu_seconds_per_word[0]:.2f} CPU-s)")
        merged = ReferenceResult(tokens=refs[0].tokens, words=[w for r in refs for w in r.words],
                                 passes_per_word=refs[0].passes_per_word)
        agreement = compare(merged, result)
        n = len(case.sources)
        ref_all = min(r.seconds_shared for r in refs) + min(r.seconds_per_word[0] for r in refs) * n
        ref_all_cpu = min(r.cpu_seconds_shared for r in refs) + min(r.cpu_seconds_per_word[0] for r in refs) * n
        row.update({
            "engine_all_s": engine, "engine_all_cpu_s": engine_cpu,
            "reference_words": k, "reference_passes_per_word": refs[0].passes_per_word,
            "reference_s_per_word": [r.seconds_per_word[0] for r in refs],
            "reference_cpu_s_per_word": [r.cpu_seconds_per_word[0] for r in refs],
            "reference_s": ref_all, "reference_cpu_s": ref_all_cpu,
            "reference_over_engine": ref_all / min(engine), "reference_over_engine_cpu": ref_all_cpu / min(engine_cpu),
            "patterns_embedding_equal": agreement.embedding_equal, "patterns_attention_equal":
                agreement.attention_equal, "patterns_checked": agreement.words,
            "pattern_near_ties": agreement.near_ties, "pattern_mismatches": agreement.mismatches,
            "influence_max_rel_diff": agreement.max_influence_rel_diff,
        })
        log(f"    reference -> {ref_all:.1f}s ({ref_all_cpu:.1f} CPU-s) for {n} words; patterns equal: "
            f"embedding {agreement.embedding_equal}/{agreement.words}, attention {agreement.attention_equal}/"
            f"{agreement.words}; influences agree to {agreement.max_influence_rel_diff:.1e} (relative)")
        for m in agreement.mismatches:
            log(f"    PATTERN MISMATCH: {m}")
    return row


def memory_rows(config: str, words: int, threads: int | None, growth: bool, log) -> list[dict]:
    runs = [("engine", None, words), ("engine", MEMORY_MAX_BATCH, words)]
    if growth:  # twice the words under the same max_batch: a bounded peak does not move
        runs.append(("engine", MEMORY_MAX_BATCH, 2 * words))
    runs.append(("plain", None, words))
    rows = []
    for side, mb, w in runs:
        log(f"  memory probe {config} {side} max_batch={mb or 'default'} ({w} words, fresh process) ...")
        r = _probe(config, side, mb, w, threads)
        log(f"    peak {r['peak_rss_mb']:.0f} MB (+{r['added_mb']:.0f} MB over set-up), {r['seconds']:.1f}s; "
            f"by phase {r['phase_peak_mb']}")
        rows.append(r)
    return rows


def profile_case(case: Case, top: int = 15) -> dict:
    """Where the engine's time goes.

    Phases: the engine's functions as called from ``explain.py`` and ``gpr.py`` (the
    names those modules hold are wrapped for one run, so whatever the lead renames or
    adds in ``functional.py`` is still caught), timed inclusively as a call tree.
    Ops: the top torch ops by self CPU time (``torch.profiler``, a second run).
    """
    import importlib
    import inspect

    ex = importlib.import_module("ipyinfluence.explain")  # the package re-exports a function of that name
    gpr = importlib.import_module("ipyinfluence.gpr")
    times: dict[tuple[str, ...], float] = {}
    stack: list[str] = []
    originals = []

    def wrap(module, name):
        fn = getattr(module, name)
        originals.append((module, name, fn))

        def timed(*a, **k):
            stack.append(name)
            path = tuple(stack)
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                times[path] = times.get(path, 0.0) + time.perf_counter() - t
                stack.pop()
        setattr(module, name, timed)

    for name in ("prepare", "embedding_level", "attention_level", "to_word_results"):
        if callable(getattr(ex, name, None)):
            wrap(ex, name)
    for name, fn in list(vars(gpr).items()):
        if inspect.isfunction(fn) and fn.__module__ in ("ipyinfluence.gpr", "ipyinfluence.functional") \
                and name not in ("prepare", "embedding_level", "attention_level"):
            wrap(gpr, name)
    try:
        total, _ = time_engine(case)
    finally:
        for module, name, fn in reversed(originals):
            setattr(module, name, fn)
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        time_engine(case)
    ops = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    op_total = sum(e.self_cpu_time_total for e in ops) or 1
    phases = {"  " * (len(p) - 1) + p[-1]: v for p, v in sorted(times.items()) if v >= 0.01 * total}
    return {
        "config": case.key, "words": len(case.sources), "total_s": total, "phases_s": phases,
        "top_ops": [{"op": e.key, "calls": e.count, "self_s": e.self_cpu_time_total / 1e6,
                     "share": e.self_cpu_time_total / op_total} for e in ops[:top]],
    }


# -- report -----------------------------------------------------------------------

def _fmt(x, spec=".2f", none="–"):
    return none if x is None else format(x, spec)


def paired_median(row: dict) -> float:
    """Median over repeats of engine_r / plain_r: each pair ran back to back, under the same load."""
    import statistics

    pairs = list(zip(row["engine_all_s"][:row["repeats"]], row["plain_all_s"]))
    return statistics.median(e / p for e, p in pairs)


def timing_table(rows: list[dict]) -> list[list[str]]:
    head = ["config", "shape", "words", "rep", "engine s", "plain fwd s", "engine/plain", "paired median",
            "CPU-s ratio", "reference s", "ref/engine", "CPU-s ratio", "patterns = (emb, att)"]
    out = [head]
    for r in rows:
        ref = r.get("reference_s")
        ref_note = "" if ref is None else (f" ({r['reference_words']}w→{r['words']}w)"
                                           if r["reference_words"] < r["words"] else "")
        pat = "–" if ref is None else (f"{r['patterns_embedding_equal']}/{r['patterns_checked']}, "
                                       f"{r['patterns_attention_equal']}/{r['patterns_checked']}")
        words = f"{r['words']}" + ("" if r["words"] == r["all_words"] else f" of {r['all_words']}")
        out.append([r["config"] + ("†" if r.get("isolated") else ""), r["shape"], words, str(r["repeats"]),
                    _fmt(r["engine_s"]), _fmt(r["plain_s"]), _fmt(r["engine_over_plain"]) + "×",
                    _fmt(paired_median(r)) + "×",
                    _fmt(r.get("engine_over_plain_cpu")) + "×" if r.get("engine_over_plain_cpu") else "–",
                    _fmt(ref, ".1f") + ref_note, "–" if ref is None else _fmt(r["reference_over_engine"], ".1f") + "×",
                    "–" if ref is None else _fmt(r["reference_over_engine_cpu"], ".1f") + "×", pat])
    return out


def memory_table(rows: list[dict]) -> list[list[str]]:
    out = [["run", "words", "max_batch", "words/chunk", "peak RSS MB", "added over set-up MB", "peak phase",
            "sweeps' peak MB", "seconds"]]
    for r in rows:
        phases = r.get("phase_peak_mb") or {}
        top = max(phases, key=phases.get) if phases else "–"
        sweeps = [phases[k] for k in ("embedding_level", "attention_level") if k in phases]
        out.append([f"{r['config']} {r['side']}", str(r["words"]), str(r["max_batch"] or "default"),
                    str(r.get("words_per_chunk", "–")), f"{r['peak_rss_mb']:.0f}", f"{r['added_mb']:.0f}", top,
                    f"{max(sweeps):.0f}" if sweeps else "–", f"{r['seconds']:.1f}"])
    return out


def profile_table(p: dict) -> list[list[str]]:
    out = [["phase / op", "seconds", "share"]]
    for k, v in p["phases_s"].items():
        out.append([k, f"{v:.2f}", f"{v / p['total_s']:.0%}"])
    for o in p["top_ops"]:
        out.append([f"op {o['op']} ×{o['calls']}", f"{o['self_s']:.2f}", f"{o['share']:.0%}"])
    return out


def render_text(t: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in t) for i in range(len(t[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in t)


def render_md(t: list[list[str]]) -> str:
    lines = ["| " + " | ".join(t[0]) + " |", "|" + "---|" * len(t[0])]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in t[1:]])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="ipyinfluence speed as ratios (engine vs plain forward vs reference).")
    p.add_argument("--quick", action="store_true", help=f"CI subset: {', '.join(QUICK_CONFIGS)}, 2 repeats, "
                   "reference on 1 word, no memory probes")
    p.add_argument("--configs", help="comma list of MODEL/TOKENS or MODEL (all lengths); models: "
                   + ", ".join(m for m in MODELS if m != "guard") + f"; lengths: {LENGTHS}")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per side, interleaved; the min is kept "
                   "(20-token configs use at most 2, 64-token configs 1)")
    p.add_argument("--long-words", type=int, default=LONG_WORDS, help="source words explained at 64 tokens")
    p.add_argument("--reference-words", type=int, default=2, help="words the reference runs on (0: skip)")
    p.add_argument("--reference-configs", default="bert-small/11,minilm/11",
                   help="configs that get a reference run ('all' for every one)")
    p.add_argument("--no-memory", action="store_true", help="skip the fresh-process memory probes")
    p.add_argument("--memory-growth", action="store_true", help="one more probe: twice the words at "
                   f"max_batch={MEMORY_MAX_BATCH} (shows the peak does not grow with words)")
    p.add_argument("--profile", metavar="CONFIG", help="also profile the engine on this config (e.g. bert-small/11)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--out", help="write results: PATH.json and PATH.md (a path ending in .json/.md sets the stem)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)

    if a.quick:
        configs, repeat, ref_words, memory = QUICK_CONFIGS, 2, 1, False
    else:
        configs, repeat, ref_words, memory = DEFAULT_CONFIGS, a.repeat, a.reference_words, not a.no_memory
    if a.configs:
        configs = []
        for item in a.configs.split(","):
            item = item.strip()
            configs += [item] if "/" in item else [f"{item}/{n}" for n in LENGTHS]
    for c in configs:
        name, _, n = c.partition("/")
        if name not in MODELS or not n.isdigit():
            p.error(f"unknown config {c!r}; use MODEL/TOKENS with MODEL in {sorted(MODELS)}")
    ref_configs = set(configs) if a.reference_configs == "all" else set(a.reference_configs.split(","))
    if a.quick:
        ref_configs = {"bert-small/11"}

    log = lambda s: print(s, flush=True)  # noqa: E731
    started = time.perf_counter()
    info = _machine()
    info["load_before"] = _load()
    log(f"machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']} ({info['torch_threads']} threads), "
        f"load {info['load_before']}; ipyinfluence at {info['commit'] or '?'}")

    rows, models = [], {}
    mem_rows: list[dict] = []
    for c in configs:
        name, _, n = c.partition("/")
        n = int(n)
        words = a.long_words if n >= 64 else None
        if c in ISOLATED and memory:
            continue  # timed by the memory probes below
        log(f"{c}: building ...")
        if name not in models:
            models = {name: build_model(MODELS[name])}  # keep one model alive at a time
        case = make_case(MODELS[name], n, model=models[name], max_words=words)
        reps = 1 if n >= 64 else min(repeat, 2) if n >= 20 else repeat
        log(f"  {case.model.name}, {n} tokens, {len(case.sources)} of {case.all_sources} words, {reps} repeat(s)")
        rows.append(time_case(case, reps, ref_words if c in ref_configs else 0, log))
        log(f"  => engine/plain {rows[-1]['engine_over_plain']:.2f}×"
            + (f", reference/engine {rows[-1]['reference_over_engine']:.1f}×" if "reference_s" in rows[-1] else ""))
    profile = None
    if a.profile:
        name, _, n = a.profile.partition("/")
        if name not in models:
            models = {name: build_model(MODELS[name])}
        case = make_case(MODELS[name], int(n), model=models[name], max_words=a.long_words if int(n) >= 64 else None)
        log(f"profiling {a.profile} ...")
        profile = profile_case(case)
    models.clear()
    if memory:
        words = a.long_words
        mem_rows = memory_rows(MEMORY_CONFIG, words, a.threads, a.memory_growth, log)
        case = make_case(MODELS[MEMORY_CONFIG.split("/")[0]], int(MEMORY_CONFIG.split("/")[1]), max_words=words)
        for r in mem_rows:
            if r["side"] == "engine":
                r["words_per_chunk"] = min(r["words"], _words_per_chunk(case, r["max_batch"], r["words"]))
        del case
        if MEMORY_CONFIG in configs:
            eng = next(r for r in mem_rows if r["side"] == "engine" and r["max_batch"] is None)
            # (the probes' sampling thread reads /proc every 5 ms: negligible next to these runs)
            pl = next(r for r in mem_rows if r["side"] == "plain")
            spec = MODELS[MEMORY_CONFIG.split("/")[0]]
            rows.append({"config": MEMORY_CONFIG, "model": f"random {spec.name} ({spec.shape})", "shape": spec.shape,
                         "tokens": 64, "words": eng["words"], "all_words": eng["all_words"], "repeats": 1,
                         "engine_s": eng["seconds"], "plain_s": pl["seconds"], "engine_all_s": [eng["seconds"]],
                         "plain_all_s": [pl["seconds"]], "engine_over_plain": eng["seconds"] / pl["seconds"],
                         "engine_cpu_s": eng["cpu_seconds"], "plain_cpu_s": pl["cpu_seconds"],
                         "engine_over_plain_cpu": eng["cpu_seconds"] / pl["cpu_seconds"], "isolated": True})
    info["load_after"] = _load()
    info["wall_s"] = time.perf_counter() - started

    log("")
    log(render_text(timing_table(rows)))
    if any(r.get("isolated") for r in rows):
        log("† single run of each side, in fresh processes (the memory probes)")
    if mem_rows:
        log("")
        log(render_text(memory_table(mem_rows)))
    if profile:
        log("")
        log(f"profile of {profile['config']} ({profile['words']} words, {profile['total_s']:.2f}s):")
        log(render_text(profile_table(profile)))
    log(f"\nwall {info['wall_s']:.0f}s; load average before {info['load_before']}, after {info['load_after']}")

    if a.out:
        stem = a.out[:-5] if a.out.endswith(".json") else a.out[:-3] if a.out.endswith(".md") else a.out
        Path(stem).parent.mkdir(parents=True, exist_ok=True)
        Path(stem + ".json").write_text(json.dumps({"machine": info, "timing": rows, "memory": mem_rows,
                                                    "profile": profile}, indent=2))
        md = [f"Measured {info['date']} at commit {info['commit'] or '?'} on {info['cpu']} ({info['cores']} cores, "
              f"torch {info['torch']}, "
              f"{info['torch_threads']} threads), load average {info['load_before']} → {info['load_after']}, "
              f"wall {info['wall_s']:.0f}s.", "", render_md(timing_table(rows))]
        if mem_rows:
            md += ["", render_md(memory_table(mem_rows))]
        if profile:
            md += ["", f"Profile of {profile['config']} ({profile['words']} words, {profile['total_s']:.2f}s):", "",
                   render_md(profile_table(profile))]
        Path(stem + ".md").write_text("\n".join(md) + "\n")
        log(f"wrote {stem}.json and {stem}.md")
    bad = [r["config"] for r in rows if r.get("pattern_mismatches")]
    if bad:
        log(f"pattern mismatches between the engine and the reference in: {', '.join(bad)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
