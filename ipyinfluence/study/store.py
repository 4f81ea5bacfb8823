"""A study on disk: one JSON-lines file, written as sentences complete, resumed after a restart.

Line 1 is the header (``kind: "study"``: the sentences with their roles and slot values,
the model's name and weights fingerprint, the explain options and every sentence's QoI);
every further line is one sentence's explanation (``kind: "explanation"``, its
``index``). Each line is flushed and fsynced as soon as it is written, so an interrupted
study loses at most the sentence being computed.

Several writers, one file: every read and write holds an exclusive ``flock`` on the file
(held for one read or one append, milliseconds, so a second writer waits rather than
fails). Under the lock a writer first reads what others appended since its last look and
skips an index already there, so two Study objects, threads or processes on one file
store each sentence once. Nothing but the lock holder about to append ever changes the
file, and it changes only a torn last line (bytes without a newline, a crash's leftover:
no live writer can be half way through a line while we hold the lock); a complete last
line that merely lacks its newline is kept. Reading keeps the first record of each index.

Every line is checked on reading: JSON, a record of this study, an integer index of one
of its sentences, an explanation of that sentence's text (and tokens); anything else is an
:class:`InputError` naming the line.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import InputError
from ..results import Explanation

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; one writer per file is then the user's care
    fcntl = None

HEADER = "study"
RECORD = "explanation"
FORMAT = 2  # 2: the header records each sentence's QoI identity and the weights fingerprint
# in this order: the sentences' texts before their QoIs, so each difference is named for what it is
CHECKED = {"model": "another model", "weights": "other model weights (the same name, other tensors)",
           "options": "other explain options", "texts": "another sentence set", "qois": "another QoI",
           "sentences": "another sentence set"}
DAMAGED = "delete that line (its sentence is computed again) or give the study another path"


class StudyStore:
    """The file of one study. ``header`` is what identifies it; opening an existing file
    whose header differs (other sentences, model weights, options or QoI) is an error.

    ``tokens_of(index)`` (optional) gives a sentence's tokens, checked against each record.
    """

    def __init__(self, path: str | os.PathLike, header: dict[str, Any] | None = None, *,
                 tokens_of: Callable[[int], Sequence[str]] | None = None):
        self.path = _usable_path(path)
        self.explanations: dict[int, Explanation] = {}
        self._tokens_of = tokens_of
        self._threads = threading.Lock()  # flock excludes other open files, not threads sharing this one
        self._offset = 0  # bytes read so far (complete lines only)
        self._line = 0  # lines read so far
        self._unterminated = False  # the last line read is complete JSON without its newline
        self.header: dict[str, Any] | None = None
        self._file, self.writable = _open(self.path, create=header is not None)
        try:
            self._open(header)
        except BaseException:
            self._file.close()
            raise

    def _open(self, header: dict[str, Any] | None) -> None:
        with self._locked():
            if os.fstat(self._file.fileno()).st_size == 0:
                if header is None:
                    raise InputError(f"{self.path} is empty: it holds no study. Pass the path of a study file.")
                if not self.writable:
                    raise InputError(f"{self.path} is read-only: a new study cannot be written there; "
                                     "make it writable or give another path.")
                self.header = {"kind": HEADER, "format": FORMAT, **header}
                self._write(json.dumps(self.header, separators=(",", ":")) + "\n")
            else:
                self._read_new()
                if self.header is None:
                    raise InputError(f"{self.path} holds no study header (only blank lines); give another path, "
                                     "or delete the file to start again.")
            if header is not None:
                self._check_same(header)

    # -- the lock ----------------------------------------------------------------------
    @contextmanager
    def _locked(self):
        with self._threads:
            if fcntl is not None:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)  # waits while another writer appends
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)

    def close(self) -> None:
        self._file.close()

    def __del__(self):  # the file handle goes with the store (no ResourceWarning)
        f = getattr(self, "_file", None)
        if f is not None:
            f.close()

    # -- reading -------------------------------------------------------------------------
    def _read_new(self) -> bool:
        """Read the lines appended since the last look (lock held). True if a torn last line was left."""
        self._file.seek(self._offset)
        data = self._file.read()
        if self._unterminated and data.startswith(b"\n"):  # another writer ended the line we already read
            data, self._offset, self._unterminated = data[1:], self._offset + 1, False
        end = data.rfind(b"\n") + 1
        for raw in data[:end].split(b"\n")[:-1]:
            self._line += 1
            self._take(raw, self._line)
        self._offset += end
        tail = data[end:]
        if not tail.strip():
            return bool(tail)
        try:
            json.loads(tail)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            if self.header is None:
                raise InputError(f"{self.path}:1 is not a study header (a cut-off or damaged first line); "
                                 "give another path, or delete the file to start again.") from None
            return True  # a write cut short by a crash: not a record (cut off before the next append)
        self._line += 1  # a complete last line without its newline (a hand edit): a record
        self._take(tail, self._line)
        self._offset += len(tail)
        self._unterminated = True
        return False

    def _take(self, raw: bytes, number: int) -> None:
        where = f"{self.path}:{number}"
        if not raw.strip():
            return
        try:
            record = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            record = None
        if self.header is None:
            self.header = _checked_header(record, where, self.path)
            return
        if not isinstance(record, dict):
            raise InputError(f"{where} is not a JSON record; the study file is damaged ({DAMAGED}).")
        if record.get("kind") != RECORD:
            raise InputError(f"{where} is not an explanation record (kind {_short(record.get('kind'))}); "
                             f"the study file is damaged ({DAMAGED}).")
        instances = self.header["sentences"]["instances"]
        index = record.get("index")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(instances):
            raise InputError(f"{where}: index {_short(index)} is not a sentence of this study (an integer from 0 "
                             f"to {len(instances) - 1}); the study file is damaged ({DAMAGED}).")
        if index in self.explanations:
            return  # a second record of a stored sentence (a file from before the lock): the first counts
        data = record.get("explanation")
        if isinstance(data, dict):  # the record must be its sentence's before anything else is read
            self._check_sentence(where, index, instances[index], data.get("text"), data.get("tokens"))
        try:
            if not isinstance(data, dict):
                raise TypeError(f"the explanation is {type(data).__name__}, not an object")
            explanation = Explanation.from_dict(data)
        except (InputError, KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as e:
            raise InputError(f"{where}: the explanation of sentence {index} is damaged ({_reason(e)}); "
                             f"{DAMAGED}.") from None
        self.explanations[index] = explanation

    def _check_sentence(self, where: str, index: int, sentence: dict, text, tokens) -> None:
        """A record explains its own sentence: the same text and the same tokens."""
        if isinstance(text, str) and text != sentence["text"]:
            raise InputError(f"{where}: the record of sentence {index} explains {_short(text)}, but "
                             f"sentence {index} is {_short(sentence['text'])}; the study file is damaged or "
                             f"edited ({DAMAGED}).")
        if not isinstance(tokens, list):
            return  # not a token list: Explanation.from_dict names the field
        expected = list(self._tokens_of(index)) if self._tokens_of is not None else None
        if len(tokens) != len(sentence["token_roles"]) or (expected is not None and tokens != expected):
            raise InputError(f"{where}: the record of sentence {index} has the tokens "
                             f"{_short(tokens)}, not those of its sentence "
                             f"{_short(expected or sentence['token_roles'])}; the study file is damaged or edited "
                             f"({DAMAGED}).")

    def refresh(self) -> dict[int, Explanation]:
        """Read what other writers appended since the last look; returns every stored explanation."""
        with self._locked():
            self._read_new()
        return self.explanations

    def _check_same(self, header: dict[str, Any]) -> None:
        stored = self.header
        if stored.get("format", 1) < 2:
            warnings.warn(f"{self.path} was written before studies recorded their QoI and model weights; they "
                          "cannot be checked, so resume it only with the same QoI and weights.", stacklevel=4)
        for key, what in CHECKED.items():
            if key in ("qois", "weights") and stored.get("format", 1) < 2:
                continue
            if key == "model" and "weights" in stored and "weights" in header:
                continue  # the same weights under another name (a moved folder) are the same model
            old, new = (_sentences_alone(h) if key == "texts" else h.get(key) for h in (stored, header))
            if old != new:
                raise InputError(f"{self.path} holds a study with {what} ({_difference(old, new)}); "
                                 "pass a new path, or the same sentences, model, options and QoI to resume it.")

    # -- writing -------------------------------------------------------------------------
    def _write(self, text: str, new_lines: int | None = None) -> None:
        """Append ``text`` and fsync (lock held)."""
        data = text.encode("utf-8")
        self._file.seek(0, os.SEEK_END)
        view = memoryview(data)
        while view:  # a raw write may write less than asked
            view = view[self._file.write(view):]
        os.fsync(self._file.fileno())
        self._offset = self._file.tell()
        self._line += data.count(b"\n") if new_lines is None else new_lines

    def append(self, index: int, explanation: Explanation) -> Explanation:
        """Write one sentence's explanation, unless that index is stored (by this or another writer).
        Returns the stored explanation (the one already there, if any)."""
        if not self.writable:
            raise InputError(f"{self.path} is read-only: sentence {index} cannot be saved; make it writable "
                             "or give the study another path.")
        count = len(self.header["sentences"]["instances"])
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
            raise InputError(f"index {index!r} is not a sentence of this study (0 to {count - 1}).")
        with self._locked():
            torn = self._read_new()
            if index in self.explanations:
                return self.explanations[index]
            if torn:  # only here, lock held, about to append: cut the crash's leftover
                self._file.truncate(self._offset)
            elif self._unterminated:  # end the hand-edited last line (already counted) before ours
                self._write("\n", new_lines=0)
            self._unterminated = False
            self._write(json.dumps({"kind": RECORD, "index": index, "explanation": explanation.to_dict()},
                                   separators=(",", ":")) + "\n")
            self.explanations[index] = explanation
        return explanation


def _usable_path(path) -> Path:
    if path is None or not str(os.fspath(path)).strip():
        raise InputError("the study path is empty; give a file name such as 'study.jsonl' (or path=None to keep "
                         "the study in memory only).")
    p = Path(path).expanduser()
    if p.is_dir():
        raise InputError(f"the study path {p} is a folder; give a file inside it, e.g. {p / 'study.jsonl'}.")
    if p.exists() and not p.is_file():
        raise InputError(f"the study path {p} is not a regular file; give the path of a .jsonl file.")
    return p


def _open(path: Path, create: bool):
    """The file opened for reading and appending (or reading only, if it is read-only)."""
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o644)
        return os.fdopen(fd, "r+b", buffering=0), True
    except FileNotFoundError:
        raise InputError(f"no study file at {path}.") from None
    except PermissionError:
        if path.exists():
            try:
                return path.open("rb", buffering=0), False
            except OSError as e:
                raise InputError(f"the study file {path} cannot be read ({e.strerror}); give another path.") from None
        raise InputError(f"the study file {path} cannot be created: its folder is not writable; give a path in a "
                         "folder you can write to.") from None
    except OSError as e:
        raise InputError(f"the study path {path} cannot be used ({e.strerror}); give another path.") from None


def _checked_header(record: Any, where: str, path: Path) -> dict[str, Any]:
    def bad(what: str):
        return InputError(f"{where}: the study header is damaged ({what}); give another path, or delete the file "
                          "to start again.")

    if not isinstance(record, dict) or record.get("kind") != HEADER:
        raise InputError(f"{path} is not a study file ({where} is not a study header); pass another path.")
    fmt = record.get("format", 1)
    if isinstance(fmt, bool) or not isinstance(fmt, int) or not 1 <= fmt <= FORMAT:
        raise bad(f"format {_short(fmt)}, this version reads 1 to {FORMAT}")
    if not isinstance(record.get("model"), str):
        raise bad("no model name")
    if not isinstance(record.get("options"), dict):
        raise bad("no explain options")
    sentences = record.get("sentences")
    instances = sentences.get("instances") if isinstance(sentences, dict) else None
    if not isinstance(instances, list) or not instances:
        raise bad("no sentences")
    for i, inst in enumerate(instances):
        if not (isinstance(inst, dict) and isinstance(inst.get("text"), str)
                and isinstance(inst.get("token_roles"), list)
                and all(isinstance(r, str) for r in inst["token_roles"])):
            raise bad(f"sentence {i} has no text and token roles")
        for key in ("slots", "labels"):
            value = inst.get(key, {})
            if not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
                raise bad(f"sentence {i}'s {key} are not words by slot")
        if not isinstance(inst.get("sentence_type", ""), str) or not all(
                isinstance(inst.get(k), (str, type(None))) for k in ("good", "bad")):
            raise bad(f"sentence {i}'s sentence type or contrast words are not text")
    qois = record.get("qois")
    if qois is not None and not (isinstance(qois, list) and len(qois) == len(instances)
                                 and all(isinstance(q, str) for q in qois)):
        raise bad("the QoIs are not one text per sentence")
    if fmt >= 2 and not isinstance(record.get("weights"), str):
        raise bad("no weights fingerprint")
    return record


def _sentences_alone(header: dict[str, Any]) -> list:
    """The sentences without the contrast words a QoI fixed in them (those are the QoI's part)."""
    instances = (header.get("sentences") or {}).get("instances") or []
    return [{k: v for k, v in i.items() if k not in ("good", "bad")} if isinstance(i, dict) else i
            for i in instances]


def _difference(stored: Any, given: Any) -> str:
    """The first place two header values differ, short."""
    if isinstance(stored, list) and isinstance(given, list) and len(stored) == len(given):
        for i, (a, b) in enumerate(zip(stored, given)):
            if a != b:
                return f"sentence {i}: stored {_short(a)}, given {_short(b)}"
    return f"stored {_short(stored)}, given {_short(given)}"


def _reason(e: Exception) -> str:
    text = f"{type(e).__name__}: " + (f"no {e}" if isinstance(e, KeyError) else str(e))
    return text if len(text) < 200 else text[:197] + "..."


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) < limit else text[:limit - 3] + "..."
