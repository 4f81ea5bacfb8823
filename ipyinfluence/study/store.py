"""A study on disk: one JSON-lines file, written as sentences complete, resumed after a restart.

Line 1 is the header (``kind: "study"``: the sentences with their roles and slot values,
the model name and the explain options); every further line is one sentence's
explanation (``kind: "explanation"``, its ``index``). Each line is flushed and fsynced as
soon as it is written, so an interrupted study loses at most the sentence being
computed; a line cut short by the interruption is skipped when reading
(:func:`ipyinfluence.reproduce.jsonl_store.read_jsonl`, the reproduce CLI's reader) and
cut off before the next append. Reading keeps the first record of each index, so a
sentence is never counted twice.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..reproduce.jsonl_store import read_jsonl
from ..results import Explanation

HEADER = "study"
RECORD = "explanation"
FORMAT = 1


def _cut_partial_line(path: Path) -> None:
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end != len(data):
        with path.open("r+b") as f:
            f.truncate(end)


class StudyStore:
    """The file of one study. ``header`` is what identifies it; opening an existing file
    whose header differs (other sentences, model or options) is an error."""

    def __init__(self, path: str | os.PathLike, header: dict[str, Any] | None = None):
        self.path = Path(path)
        self.explanations: dict[int, Explanation] = {}
        if self.path.exists() and self.path.stat().st_size > 0:
            records = read_jsonl(self.path, instance_records=False)
            if not records or records[0].get("kind") != HEADER:
                raise InputError(f"{self.path} is not a study file (its first line is not a study header); "
                                 "pass another path.")
            self.header = records[0]
            if header is not None:
                self._check_same(header)
            for r in records[1:]:
                if r.get("kind") == RECORD:
                    self.explanations.setdefault(int(r["index"]), Explanation.from_dict(r["explanation"]))
            _cut_partial_line(self.path)
        else:
            if header is None:
                raise InputError(f"no study file at {self.path}.")
            self.header = {"kind": HEADER, "format": FORMAT, **header}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("w", encoding="utf-8") as f:
                f.write(json.dumps(self.header, separators=(",", ":")) + "\n")
                f.flush()
                os.fsync(f.fileno())

    def _check_same(self, header: dict[str, Any]) -> None:
        for key in ("model", "options", "sentences"):
            if self.header.get(key) != header.get(key):
                what = {"sentences": "sentence set", "options": "explain options", "model": "model"}[key]
                raise InputError(f"{self.path} holds a study with another {what} "
                                 f"({_short(self.header.get(key))} vs {_short(header.get(key))}); "
                                 "pass a new path, or the same sentences, model and options to resume it.")

    def append(self, index: int, explanation: Explanation) -> None:
        """Write one sentence's explanation (ignored if that index is already stored)."""
        if index in self.explanations:
            return
        line = json.dumps({"kind": RECORD, "index": index, "explanation": explanation.to_dict()},
                          separators=(",", ":"))
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.explanations[index] = explanation


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) < 80 else text[:77] + "..."
