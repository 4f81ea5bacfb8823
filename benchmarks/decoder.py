"""Decoder GPR speed and memory, as ratios measured in one run (SPEC §10; benchmarks/README.md).

For SmolLM2-135M (``load_model("smollm2-135m")``; a tiny random Llama with ``--tiny``) and the
14-token IOI prompt, both levels, every word, Gauss–Legendre/32:

* ``engine``: wall time of ``explain`` (all words);
* ``plain``: one no-grad forward of the Hugging Face decoder (eager attention, no LM head)
  over the same words × steps interpolated rows: ``engine/plain`` is the headline ratio;
* ``captum``: Captum's ``LayerIntegratedGradients`` on the embedding layer at the same rule
  and point count, for the same QoI (token attributions only: no paths), the field's anchor;
* memory: peak resident set over the loaded model, in fresh processes (``--memory``), for
  one word and for ``--memory-words`` words of a ``--memory-tokens``-token text.

Each timed side runs ``--repeat`` times, interleaved; the minimum is kept.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

IOI = "When Mary and John went to the store, John gave a drink to"
STEPS = 32


def load(tiny: bool):
    from ipyinfluence import load_model

    return load_model("tiny-llama" if tiny else "smollm2-135m")


def rows(model, text: str, steps: int) -> torch.Tensor:
    """The words × steps interpolated input rows the engine's sweeps stand for."""
    from ipyinfluence.integration import baseline_vectors, interpolate
    from ipyinfluence.quadrature import path_points

    enc = model.encode(text)
    ids = torch.tensor(enc.input_ids)
    x, b = model.word_vectors(ids).detach(), baseline_vectors(model, enc)
    e = interpolate(x, b, path_points(steps, "gauss-legendre", dtype=x.dtype).alphas)
    return e.repeat(len(enc), 1, 1)


def time_plain(model, inputs: torch.Tensor) -> float:
    base = model.hf_model.model
    with torch.no_grad():
        t = time.perf_counter()
        base(inputs_embeds=inputs)
        return time.perf_counter() - t


def time_engine(model, text, qoi, steps) -> tuple[float, object]:
    from ipyinfluence import explain

    t = time.perf_counter()
    e = explain(model, text, qoi, steps=steps, quadrature="gauss-legendre", level="attention")
    return time.perf_counter() - t, e


def time_captum(model, text, qoi, steps) -> float | None:
    try:
        from captum.attr import LayerIntegratedGradients
    except ImportError:
        return None
    from ipyinfluence.integration import baseline_vectors

    hf = model.hf_model
    enc = model.encode(text)
    ids = torch.tensor([enc.input_ids])
    b = baseline_vectors(model, enc)
    base_ids = torch.full_like(ids, model.tokenizer.convert_tokens_to_ids(model.tokenizer.unk_token
                                                                          or model.tokenizer.eos_token))
    good, bad = model.token_id(qoi.good), model.token_id(qoi.bad)

    def forward(input_ids):
        logits = hf(input_ids=input_ids).logits[:, -1]
        return logits[:, good] - logits[:, bad]

    assert torch.equal(hf.get_input_embeddings()(base_ids)[0], b)
    lig = LayerIntegratedGradients(forward, hf.get_input_embeddings())
    t = time.perf_counter()
    lig.attribute(ids, baselines=base_ids, n_steps=steps, method="gausslegendre")
    return time.perf_counter() - t


def memory_probe(args) -> None:
    """In a fresh process: peak RSS of explain over the loaded model (VmHWM reset after set-up)."""
    from ipyinfluence import NextTokenContrast, explain

    torch.set_num_threads(1)
    model = load(args.tiny)
    words = (IOI + " ") * 20
    ids = model.tokenizer(words, add_special_tokens=False)["input_ids"][: args.memory_tokens - 1]
    text = model.tokenizer.decode(ids) + " to"
    setup = _status_mb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    t = time.perf_counter()
    explain(model, text, NextTokenContrast(" Mary", " John"), steps=STEPS, quadrature="gauss-legendre",
            level="attention", sources=list(range(args.probe_words)))
    print(json.dumps({"tokens": len(model.encode(text)), "words": args.probe_words, "setup_mb": setup,
                      "added_mb": _status_mb("VmHWM") - setup, "seconds": time.perf_counter() - t}))


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status (Linux only)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="a tiny random Llama instead of SmolLM2")
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--memory", action="store_true", help="also measure peak memory in fresh processes")
    p.add_argument("--memory-tokens", type=int, default=128)
    p.add_argument("--memory-words", type=int, default=8)
    p.add_argument("--probe-words", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.probe_words:
        return memory_probe(args)
    torch.set_num_threads(args.threads)
    from ipyinfluence import NextTokenContrast

    model = load(args.tiny)
    qoi = NextTokenContrast(" Mary", " John")
    inputs = rows(model, IOI, STEPS)
    eng, pln, cap = [], [], []
    result = None
    for _ in range(args.repeat):
        t, result = time_engine(model, IOI, qoi, STEPS)
        eng.append(t)
        pln.append(time_plain(model, inputs))
        c = time_captum(model, IOI, qoi, STEPS)
        if c is not None:
            cap.append(c)
    n = len(result.tokens)
    print(f"model {model.name} ({model.num_layers} layers, {model.num_heads} heads), {n} tokens, every word, "
          f"both levels, Gauss–Legendre/{STEPS}, {args.threads} thread(s), min of {args.repeat}")
    print("| engine (s) | plain forward, words × steps rows (s) | engine / plain | Captum LIG (s) | engine / Captum |")
    print("|---|---|---|---|---|")
    c = f"{min(cap):.2f}" if cap else "n/a"
    r = f"{min(eng) / min(cap):.2f}" if cap else "n/a"
    print(f"| {min(eng):.2f} | {min(pln):.2f} | {min(eng) / min(pln):.2f} | {c} | {r} |")
    gap = abs(sum(w.total_influence for w in result.words) - (result.q_input - result.q_baseline))
    print(f"q(x) − q(b) = {result.q_input - result.q_baseline:.4f}, completeness gap {gap:.4f}")
    if args.memory:
        base_cmd = [sys.executable, __file__, "--memory-tokens", str(args.memory_tokens)] + (["--tiny"] if args.tiny else [])
        print("| tokens | words | model loaded (MB) | peak over the model (MB) | seconds |")
        print("|---|---|---|---|---|")
        for words in (1, args.memory_words):
            out = subprocess.run(base_cmd + ["--probe-words", str(words)], capture_output=True, text=True, check=True)
            d = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {d['tokens']} | {d['words']} | {d['setup_mb']:.0f} | {d['added_mb']:.0f} | {d['seconds']:.1f} |")


if __name__ == "__main__":
    main()
