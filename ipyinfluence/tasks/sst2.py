"""SST-2 (GLUE) sentences for the sentiment task (SA), filtered by length."""

from __future__ import annotations

import csv
from pathlib import Path

from ..errors import InputError
from .instance import Instance
from .token_roles import token_roles_batch

SPLIT_FILES = {"validation": "dev.tsv", "train": "train.tsv"}  # GLUE's names inside SST-2/
LABEL_NAMES = {1: "positive", 0: "negative"}


def load_sst2(path: str | Path | None, tokenizer, max_tokens: int = 17, split: str = "validation") -> list[Instance]:
    """SST-2 sentences of at most ``max_tokens`` WordPieces, as SA instances.

    ``path`` is a GLUE TSV (header ``sentence<TAB>label``, label 1 = positive) or a folder with
    GLUE's ``dev.tsv`` / ``train.tsv`` (chosen by ``split``). With ``path=None`` the split is
    loaded through the ``datasets`` library (``glue``/``sst2``), when it is installed.

    The count is of the sentence's own WordPieces, ``len(tokenizer.tokenize(sentence))``,
    without [CLS] and [SEP]: the model input of a kept sentence has at most ``max_tokens + 2``
    tokens. Sentences keep the file's order. Every instance's QoI is ``ClassContrast(1, 0)``
    (positive minus negative), whatever its gold ``label``.
    """
    if split not in SPLIT_FILES:
        raise InputError(f"split must be one of {sorted(SPLIT_FILES)}, not {split!r}.")
    rows = _read_tsv(Path(path), split) if path is not None else _read_datasets(split)
    texts = [s for s, _ in rows]
    lengths = [len(tokenizer.tokenize(s)) for s in texts]
    kept = [(s, label) for (s, label), n in zip(rows, lengths) if n <= max_tokens]
    tokenized = token_roles_batch(tokenizer, [s for s, _ in kept], [("word",) * len(s.split()) for s, _ in kept])
    return [Instance(task="sa", text=s, good="positive", bad="negative", case=f"sst2-{split}",
                     sentence_type=LABEL_NAMES[label], token_roles=roles, word_roles=("word",) * len(s.split()),
                     label=label)
            for (s, label), (roles, _) in zip(kept, tokenized)]


def _read_tsv(path: Path, split: str) -> list[tuple[str, int]]:
    if path.is_dir():
        path = path / SPLIT_FILES[split]
    if not path.is_file():
        raise InputError(f"no SST-2 file at {path}; pass GLUE's SST-2 dev.tsv (or its folder).")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:2]] != ["sentence", "label"]:
            raise InputError(f"{path} is not a GLUE SST-2 TSV: its header is {header}, expected ['sentence', 'label'].")
        return [(row[0].strip(), int(row[1])) for row in reader if row]


def _read_datasets(split: str) -> list[tuple[str, int]]:
    try:
        import datasets
    except ImportError:
        raise InputError("load_sst2 needs a path to GLUE's SST-2 dev.tsv, or the `datasets` library "
                         "(pip install datasets) to download glue/sst2; neither was given.") from None
    data = datasets.load_dataset("glue", "sst2", split=split)
    return [(str(row["sentence"]).strip(), int(row["label"])) for row in data]
