"""Results as JSON lines, written incrementally and merged once.

Layout of an output folder::

    results.jsonl          merged records (one per instance id), written by rank 0
    parts/rank-<r>.jsonl   records appended by rank r while a run is going

A record is flushed (and fsynced) as soon as it is computed, so an interrupted run loses at
most the instance it was working on. A line cut short by the interruption is ignored when
reading, and cut off before the next append, so the file stays one JSON object per line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import InputError
from ..tasks import TASKS

MERGED = "results.jsonl"
PARTS = "parts"
RECORD_KEYS = ("id", "task", "index", "text")  # what resuming and merging read


def part_path(out: Path, rank: int) -> Path:
    return Path(out) / PARTS / f"rank-{rank}.jsonl"


def read_jsonl(path: Path, instance_records: bool = True) -> list[dict[str, Any]]:
    """Every complete record of ``path`` (none if it does not exist); a cut-off last line is skipped.

    ``instance_records``: each line must be a reproduce instance record (its keys are
    checked); other JSON-lines files (a study's) only need JSON objects."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    lines = path.read_bytes().split(b"\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            if number == len(lines):  # the last line, without its newline: an interrupted write
                continue
            raise InputError(f"{path}:{number} is not a JSON record; the results file is damaged "
                             "(delete that line, or start again with a new --out folder).") from None
        if not isinstance(record, dict):
            raise InputError(f"{path}:{number} is not a JSON object; the file is damaged (delete that line, "
                             "or start again with a new file).")
        missing = [k for k in RECORD_KEYS if k not in record]
        if instance_records and (missing or not isinstance(record.get("index"), int)
                                 or not isinstance(record.get("task"), str)):
            raise InputError(f"{path}:{number} is not an instance record (missing or wrong {missing or ['index', 'task']}); "
                             "the results file is damaged (delete that line, or start again with a new --out folder).")
        out.append(record)
    return out


def _cut_partial_line(path: Path) -> None:
    """Drop bytes after the last newline (a record whose write was interrupted)."""
    if not path.exists():
        return
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end != len(data):
        with path.open("r+b") as f:
            f.truncate(end)


class PartWriter:
    """Appends records to one rank's part file, one flushed line each."""

    def __init__(self, out: Path, rank: int):
        self.path = part_path(out, rank)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _cut_partial_line(self.path)
        self._file = self.path.open("a", encoding="utf-8")

    def append(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "PartWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def part_files(out: Path) -> list[Path]:
    folder = Path(out) / PARTS
    return sorted(folder.glob("rank-*.jsonl")) if folder.is_dir() else []


def all_records(out: Path) -> Iterator[dict[str, Any]]:
    """Merged records, then those of every part file (duplicates possible)."""
    yield from read_jsonl(Path(out) / MERGED)
    for p in part_files(out):
        yield from read_jsonl(p)


def _order(record: dict[str, Any]) -> tuple:
    tasks = list(TASKS)
    task = record["task"]
    return (tasks.index(task) if task in tasks else len(tasks), task, record["index"])


def dedupe(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per id (the first seen), sorted by task (Table 1 order) and index."""
    seen: dict[str, dict[str, Any]] = {}
    for r in records:
        seen.setdefault(r["id"], r)
    return sorted(seen.values(), key=_order)


def merge(out: Path) -> list[dict[str, Any]]:
    """Fold the part files into ``results.jsonl`` (atomically), then delete them; returns the records.

    Run by one process only (rank 0, after every rank is done). A crash between the
    replace and the deletes leaves duplicates that the next merge drops.
    """
    out = Path(out)
    records = dedupe(all_records(out))
    tmp = out / (MERGED + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out / MERGED)
    for p in part_files(out):
        p.unlink()
    if (out / PARTS).is_dir() and not any((out / PARTS).iterdir()):
        (out / PARTS).rmdir()
    return records


def load_results(out: Path) -> list[dict[str, Any]]:
    """Every record of an output folder, merged view (without writing anything)."""
    return dedupe(all_records(out))
