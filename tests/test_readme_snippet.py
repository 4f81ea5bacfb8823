"""The README's API snippet runs as written (on the tiny model instead of the hub's):
everything it uses is imported, and load_model("tiny") works as it says."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
HUB_MODEL = 'load_model("google/bert_uncased_L-6_H-512_A-8")'


def test_the_api_snippet_runs_on_the_tiny_model(one_torch_thread):
    code = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)[0]
    assert HUB_MODEL in code
    code = code.replace(HUB_MODEL, 'load_model("tiny")').replace("steps=51", "steps=3")
    code = code.replace("for word in iter_explain(model, text, qoi):", "for word in iter_explain(model, text, qoi, steps=3):")
    scope: dict = {}
    exec(compile(code, str(README), "exec"), scope)  # noqa: S102 - our own README
    assert scope["same"] == scope["e"] and scope["model"].task == "masked-lm"
