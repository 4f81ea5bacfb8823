"""Time to the first full pattern in progressive mode (issue 5.3), BERT-small-shaped, 11 tokens.

Prints a table: threads, time to the first previewed word (every word's preview arrives in
that one batched pass), time to all exact words, and whether the final stage equals a direct
``explain`` run exactly. Usage: ``python benchmarks/progressive.py [--preview-steps 5] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import time

import torch

from ipyinfluence import TokenContrast, explain
from ipyinfluence.progressive import iter_progressive


def bert_small():
    import transformers as tf

    from ipyinfluence.model import wrap_model
    from ipyinfluence.tiny import tiny_tokenizer

    tok = tiny_tokenizer()
    cfg = tf.BertConfig(hidden_size=512, num_hidden_layers=6, num_attention_heads=8, intermediate_size=2048,
                        vocab_size=len(tok))
    torch.manual_seed(0)
    return wrap_model(tf.BertForMaskedLM(cfg).eval(), tok, device="cpu", name="bert-small-shaped (random)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--preview-steps", type=int, default=5)
    ap.add_argument("--steps", type=int, default=51)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    model = bert_small()
    text, qoi = "the author that the guards like [MASK] happy .", TokenContrast("is", "are")
    assert len(model.encode(text)) == 11
    print("| threads | first full pattern (s) | all exact words (s) | final == direct run |")
    print("|---|---|---|---|")
    for threads in args.threads:
        torch.set_num_threads(threads)
        firsts, totals, same = [], [], True
        for _ in range(args.repeat):
            start = time.perf_counter()
            updates = iter_progressive(model, text, qoi, steps=args.steps, preview_steps=args.preview_steps)
            next(updates)
            firsts.append(time.perf_counter() - start)
            last = None
            for last in updates:
                pass
            totals.append(time.perf_counter() - start)
            same &= last.explanation == explain(model, text, qoi, steps=args.steps)
        print(f"| {threads} | {min(firsts):.2f} (median {sorted(firsts)[len(firsts) // 2]:.2f}) | "
              f"{min(totals):.2f} | {same} |")


if __name__ == "__main__":
    main()
