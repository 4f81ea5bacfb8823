"""No download or "Loading weights" progress bars while ipyinfluence loads a model.

transformers (and huggingface_hub under it) draw a tqdm bar while they read weights: in a
student's Voila page or a saved notebook that is a stray "Loading weights 100%" widget
above the Explorer (issue 19.10). :func:`quiet_progress_bars` switches the bars off for
the duration of a load and restores the caller's setting afterwards (a user who wants
them keeps them for their own calls).
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import partial
from typing import Iterator


@contextmanager
def quiet_progress_bars() -> Iterator[None]:
    """transformers' and huggingface_hub's progress bars off inside the block."""
    try:
        from transformers.utils import logging as tf_logging
    except ImportError:  # no transformers: nothing draws a bar
        yield
        return
    was_on = tf_logging.is_progress_bar_enabled()
    tf_logging.disable_progress_bar()  # also huggingface_hub's bars
    gguf_utils = _gguf_utils()
    gguf_tqdm = getattr(gguf_utils, "tqdm", None)
    if gguf_tqdm is not None:  # the GGUF conversion calls tqdm directly, past transformers' switch
        gguf_utils.tqdm = partial(gguf_tqdm, disable=True)
    try:
        yield
    finally:
        if gguf_tqdm is not None:
            gguf_utils.tqdm = gguf_tqdm
        if was_on:
            tf_logging.enable_progress_bar()


def _gguf_utils():
    try:
        import transformers.modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:  # an older transformers, or no gguf support: nothing to silence
        return None
    return gguf_utils
