"""load_sst2: GLUE TSV or `datasets`, at most 17 WordPieces, and its error when neither is there."""

from __future__ import annotations

import sys
import types
from collections import Counter

import pytest

from ipyinfluence.errors import InputError
from ipyinfluence.qoi import ClassContrast
from ipyinfluence.tasks import generate, load_sst2


def test_dev_tsv_count_and_length_bound(tokenizer, shared_data):
    path = shared_data / "sst2" / "dev.tsv"
    kept = load_sst2(path, tokenizer)
    # Measured: 283 of GLUE's 872 validation sentences have <= 17 WordPieces ([CLS]/[SEP] not counted).
    assert len(kept) == 283
    assert Counter(x.label for x in kept) == {0: 150, 1: 133}
    assert all(len(tokenizer.tokenize(x.text)) <= 17 for x in kept)
    assert max(len(tokenizer.tokenize(x.text)) for x in kept) == 17
    lines = path.read_text().splitlines()[1:]
    assert len(lines) == 872
    dropped = [line.split("\t")[0] for line in lines if line.split("\t")[0].strip() not in {x.text for x in kept}]
    assert len(dropped) == 872 - 283 and all(len(tokenizer.tokenize(s)) > 17 for s in dropped)
    # Counting [CLS]/[SEP] as well would keep 220 (the same as max_tokens=15 here).
    assert len(load_sst2(path, tokenizer, max_tokens=15)) == 220


def test_instances_are_sa_with_class_contrast(tokenizer, shared_data):
    first = load_sst2(shared_data / "sst2", tokenizer)[0]  # a folder: GLUE's dev.tsv inside
    assert first.text == "it 's a charming and often affecting journey ."
    assert (first.task, first.label, first.sentence_type, first.good, first.bad) == ("sa", 1, "positive", "positive",
                                                                                      "negative")
    assert first.qoi() == ClassContrast(1, 0)
    assert first.mask_index is None
    assert first.token_roles == ("[CLS]",) + ("word",) * (len(tokenizer(first.text)["input_ids"]) - 2) + ("[SEP]",)


def test_generate_sa_balances_labels(tokenizer, shared_data):
    picked = generate("sa", 20, tokenizer, seed=0, path=shared_data / "sst2" / "dev.tsv")
    assert Counter(x.sentence_type for x in picked) == {"positive": 10, "negative": 10}
    assert picked == generate("sa", 20, tokenizer, seed=0, path=shared_data / "sst2" / "dev.tsv")


def test_no_path_and_no_datasets_is_a_clear_error(tokenizer, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail even if installed
    with pytest.raises(InputError, match="pip install datasets"):
        load_sst2(None, tokenizer)


def test_no_path_uses_datasets_glue_sst2(tokenizer, monkeypatch):
    calls = []

    def load_dataset(*args, split):
        calls.append((args, split))
        return [{"sentence": "a gorgeous film . ", "label": 1}, {"sentence": "word " * 30, "label": 0}]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    kept = load_sst2(None, tokenizer)
    assert calls == [(("glue", "sst2"), "validation")]
    assert [(x.text, x.label) for x in kept] == [("a gorgeous film .", 1)]


def test_bad_file_errors(tokenizer, tmp_path):
    with pytest.raises(InputError, match="no SST-2 file"):
        load_sst2(tmp_path / "missing.tsv", tokenizer)
    bad = tmp_path / "bad.tsv"
    bad.write_text("text\tsentiment\nfine .\t1\n")
    with pytest.raises(InputError, match="not a GLUE SST-2 TSV"):
        load_sst2(bad, tokenizer)
    with pytest.raises(InputError, match="split must be"):
        load_sst2(tmp_path, tokenizer, split="test")
