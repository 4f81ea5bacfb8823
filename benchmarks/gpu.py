"""The engine on a GPU (issue 11.3): agreement with CPU float64, latency, throughput, TF32/bf16.

One command, about 5 minutes on a CUDA machine:

    python benchmarks/gpu.py                       # needs CUDA; exits 2 with a message without it
    python benchmarks/gpu.py --device cpu --quick  # smoke test of every part on a tiny model (CPU)

Tables (``--steps``/``--quadrature``: the integration rule, Gauss–Legendre 16 by default):

1. **agreement**: the device in float32 against the CPU in float64 on the same random
   BERT-small-shaped model, ``--agree`` agreement sentences (``ipyinfluence.tasks``,
   ``sva-obj``): the largest ``max_i |Δg_i| / max_i |g_i|`` over sentences, and the share
   of identical pattern choices (per word and layer).
2. **latency**: one sentence, all words, both levels: BERT-base-shaped at 20 tokens and
   BERT-small-shaped at 11 tokens; one warm-up, then the median of ``--repeat`` runs.
3. **throughput**: ``ipyinfluence.explain_many`` on ``--sentences`` agreement sentences
   (BERT-small-shaped) if the package has it, else a per-sentence ``explain`` loop (the
   table says which); stops after ``--budget`` seconds and reports the rate so far.
4. **precision options**: TF32 matmuls (``torch.backends.cuda.matmul.allow_tf32``) and
   the model cast to bfloat16, each against float32 without TF32: error of ``g_i``,
   share of pattern choices unchanged, latency.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from configs import MODELS, build_model, load_average, make_case  # noqa: E402
from quadrature import compare, pct  # noqa: E402

import ipyinfluence  # noqa: E402
from ipyinfluence import explain  # noqa: E402
from ipyinfluence.errors import InfluenceError  # noqa: E402
from ipyinfluence.tasks import generate  # noqa: E402


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def agreement_sentences(model, n: int):
    """``n`` subject-verb agreement sentences (one [MASK]) and their TokenContrast QoIs."""
    instances = generate("sva-obj", n, model.tokenizer)
    return [x.text for x in instances], [x.qoi() for x in instances]


def explain_all(model, texts, qois, opts) -> list:
    return [explain(model, t, q, **opts) for t, q in zip(texts, qois)]


def timed(fn, device, repeat: int) -> tuple[float, object]:
    """One warm-up, then the median wall time of ``repeat`` runs (device synchronised)."""
    out = fn()
    times = []
    for _ in range(repeat):
        sync(device)
        t = time.perf_counter()
        out = fn()
        sync(device)
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def agreement(small, device, texts, qois, opts) -> str:
    n = len(texts)
    ref = explain_all(copy.deepcopy(small).to(torch.float64), texts, qois, opts)  # small is on the CPU here
    got = explain_all(copy.deepcopy(small).to(device), texts, qois, opts)
    c = compare(got, ref)
    return (f"| {device} float32 vs cpu float64 | {n} | {pct(c['g'])} | {pct(c['emb'])} | {pct(c['att'])} "
            f"| {c['emb_same']:.1%} | {c['att_same']:.1%} |")


def latency(name: str, tokens: int, device, repeat: int, opts) -> str:
    spec = MODELS[name]
    case = make_case(spec, tokens, model=build_model(spec).to(device))
    seconds, e = timed(lambda: explain(case.model, case.text, case.qoi, sources=case.sources, **opts), device, repeat)
    return f"| {name} ({spec.shape}) | {tokens} | {len(case.sources)} | {e.steps} | {seconds:.3f} | {repeat} |"


def throughput(small, device, texts, qois, budget: float, opts) -> str:
    n = len(texts)
    many = getattr(ipyinfluence, "explain_many", None)
    done, t = 0, time.perf_counter()
    how = "per-sentence explain loop (no ipyinfluence.explain_many)"
    if many is not None:
        try:
            for _ in many(small, texts, qois, **opts):
                done += 1
                if time.perf_counter() - t > budget:
                    break
            how = "ipyinfluence.explain_many"
        except (TypeError, InfluenceError) as e:  # an explain_many without some option: say so and loop
            how = f"per-sentence explain loop (explain_many refused: {str(e)[:100]})"
            done, t = 0, time.perf_counter()
    if many is None or done == 0:
        for text, qoi in zip(texts, qois):
            explain(small, text, qoi, **opts)
            done += 1
            if time.perf_counter() - t > budget:
                break
    sync(device)
    seconds = time.perf_counter() - t
    return f"| {how} | {done} of {n} | {seconds:.1f} | {done / seconds:.2f} |"


def precision(small, device, texts, qois, repeat: int, opts) -> list[str]:
    fp32 = copy.deepcopy(small).to(device)
    run32 = lambda m=fp32: explain_all(m, texts, qois, opts)  # noqa: E731
    matmul = torch.backends.cuda.matmul
    old = matmul.allow_tf32
    rows = []
    try:
        matmul.allow_tf32 = False
        t32, ref = timed(run32, device, repeat)
        rows.append(f"| float32 (TF32 off) | – | – | – | {t32:.3f} | 1.00× |")
        matmul.allow_tf32 = True
        t, got = timed(run32, device, repeat)
        c = compare(got, ref)
        note = "" if device.type == "cuda" else " (no effect on CPU)"
        rows.append(f"| float32 + TF32{note} | {pct(c['g'])} | {c['emb_same']:.1%} | {c['att_same']:.1%} "
                    f"| {t:.3f} | {t32 / t:.2f}× |")
        matmul.allow_tf32 = False
        bf16 = copy.deepcopy(small).to(device).to(torch.bfloat16)
        try:
            t, got = timed(lambda: explain_all(bf16, texts, qois, opts), device, repeat)
            c = compare(got, ref)
            rows.append(f"| bfloat16 model | {pct(c['g'])} | {c['emb_same']:.1%} | {c['att_same']:.1%} "
                        f"| {t:.3f} | {t32 / t:.2f}× |")
        except Exception as e:  # noqa: BLE001 - report, do not lose the other tables
            rows.append(f"| bfloat16 model | failed: {type(e).__name__}: {str(e)[:120]} | | | | |")
    finally:
        matmul.allow_tf32 = old
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--quick", action="store_true", help="tiny model, few sentences: a smoke test of every part")
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--quadrature", default="gauss-legendre")
    p.add_argument("--agree", type=int, default=8, help="sentences for the agreement and precision tables")
    p.add_argument("--sentences", type=int, default=1000, help="sentences for the throughput table")
    p.add_argument("--budget", type=float, default=90.0, help="seconds the throughput table may take")
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args(argv)
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("gpu.py: no CUDA device here (torch.cuda.is_available() is False, torch "
              f"{torch.__version__}). Run it on a machine with a GPU, or smoke-test it with "
              "`python benchmarks/gpu.py --device cpu --quick`.", file=sys.stderr)
        return 2
    if a.quick:
        a.agree, a.sentences, a.budget, a.repeat = 2, 4, 30.0, 2
    small_name, latency_cases = ("guard", [("guard", 11)]) if a.quick else \
        ("bert-small", [("bert-base", 20), ("bert-small", 11)])
    opts = {"steps": a.steps, "quadrature": a.quadrature, "level": "attention"}
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"# {name}, torch {torch.__version__}, ipyinfluence {ipyinfluence.__version__}, "
          f"{a.quadrature}/{a.steps}, load average {load_average()}", flush=True)
    small = build_model(MODELS[small_name])
    texts, qois = agreement_sentences(small, max(a.agree, a.sentences))

    print("\n## Agreement with CPU float64\n\n| run | sentences | g err | emb infl err | att infl err "
          "| emb choices = | att choices = |\n|---|---|---|---|---|---|---|", flush=True)
    print(agreement(small, device, texts[:a.agree], qois[:a.agree], opts), flush=True)

    print("\n## Latency of one sentence (all words, both levels)\n\n| model | tokens | words | steps "
          "| median s | runs |\n|---|---|---|---|---|---|", flush=True)
    for model_name, tokens in latency_cases:
        print(latency(model_name, tokens, device, a.repeat, opts), flush=True)

    small = small.to(device)
    print(f"\n## Throughput ({small_name}, agreement sentences)\n\n| how | sentences | s | sentences/s |\n"
          "|---|---|---|---|", flush=True)
    print(throughput(small, device, texts[:a.sentences], qois[:a.sentences], a.budget, opts), flush=True)

    print(f"\n## Precision options ({small_name}, {a.agree} sentences, against float32 without TF32)\n\n"
          "| setting | g err | emb choices = | att choices = | median s | speed-up |\n|---|---|---|---|---|---|",
          flush=True)
    for r in precision(small.to("cpu"), device, texts[:a.agree], qois[:a.agree], a.repeat, opts):
        print(r, flush=True)
    print(f"\n# load average {load_average()} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
