"""The study file: one QoI and one set of weights per file, one record per sentence with several
writers (real processes), nothing deleted by a reader, every line checked, paths checked first."""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from ipyinfluence import InputError, Study, TokenContrast, load_model
from ipyinfluence.study import ContrastBy, PerSentence, SentenceSet, StudyStore
from ipyinfluence.study.fingerprint import weights_fingerprint
from ipyinfluence.study.qoi_identity import qoi_identity
from ipyinfluence.tiny import tiny_model

REPO = Path(__file__).resolve().parents[2]
TEXTS = ["the author [MASK] happy .", "the pilots [MASK] here .", "a dog [MASK] old .", "the cat [MASK] small ."]
IS_ARE = TokenContrast("is", "are")
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def make(model, path, qoi=IS_ARE, texts=TEXTS, **kw):
    return Study(model, texts, qoi, path=path, steps=3, level="embedding", batch_sentences=1, **kw)


def lines(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def indices(path):
    return [r["index"] for r in lines(path)[1:]]


# -- 5: the QoI is part of the study ---------------------------------------------------------


def test_resuming_with_another_qoi_is_refused(mlm, tmp_path):
    path = tmp_path / "s.jsonl"
    make(mlm, path).run()
    with pytest.raises(InputError, match="another QoI.*sentence 0.*'is'.*'was'"):
        make(mlm, path, TokenContrast("was", "were"))
    assert make(mlm, path).complete  # the same QoI resumes


def test_a_contrast_by_mapping_and_a_callable_are_recorded(mlm, tmp_path):
    words = {"subject": {"sing": ["author"], "plur": ["authors"]}}
    agree = ContrastBy("subject", {"sing": ("is", "are"), "plur": ("are", "is")})
    flipped = ContrastBy("subject", {"sing": ("are", "is"), "plur": ("is", "are")})
    template = "the {subject} [MASK] happy ."
    path = tmp_path / "by.jsonl"
    Study(mlm, SentenceSet.from_template(template, words, mlm, agree), path=path, steps=3)
    with pytest.raises(InputError, match="another QoI.*sentence 0: stored .*'is'.*given .*'are'"):
        Study(mlm, SentenceSet.from_template(template, words, mlm, flipped), path=path, steps=3)

    def f(outputs):
        return outputs.token_logits(3)[:, 2003] - outputs.token_logits(3)[:, 2024]

    path = tmp_path / "f.jsonl"
    make(mlm, path, f).run()
    assert make(mlm, path, f).complete  # the same function again: resumed
    with pytest.raises(InputError, match="another QoI"):
        make(mlm, path, lambda outputs: -f(outputs))


def test_a_callable_qoi_has_the_same_identity_in_another_process():
    source = ("def f(outputs):\n    return outputs.token_logits(3)[:, 7] * 2.5\n"
              "def g(outputs):\n    return outputs.token_logits(3)[:, 7] * 3.5\n")
    script = ("from ipyinfluence.study.qoi_identity import qoi_identity\n" + source
              + "print(qoi_identity(f), qoi_identity(g))\n")
    runs = [subprocess.run([sys.executable, "-c", script], env=ENV, capture_output=True, text=True, timeout=120)
            for _ in range(2)]
    assert runs[0].returncode == 0, runs[0].stderr
    (f1, g1), (f2, g2) = (r.stdout.split() for r in runs)
    assert f1 == f2 and g1 == g2 and f1.startswith("__main__.f#")  # the same source in another process
    assert f1.split("#")[1] != g1.split("#")[1]  # another constant: another identity
    assert qoi_identity(IS_ARE) == repr(IS_ARE) and " at 0x" not in qoi_identity(lambda o: o)


# -- 13: any callable is a QoI ------------------------------------------------------------------


def test_a_callable_of_the_outputs_is_the_qoi(mlm):
    good, bad = mlm.token_id("is"), mlm.token_id("are")
    texts = TEXTS[:2]
    study = Study(mlm, texts, qoi=lambda outputs: outputs.token_logits(3)[:, good] - outputs.token_logits(3)[:, bad],
                  steps=3, level="embedding").run()
    reference = Study(mlm, texts, qoi=IS_ARE, steps=3, level="embedding").run()
    assert study.complete
    for i in range(2):
        assert study.explanations[i].q_input == pytest.approx(reference.explanations[i].q_input, rel=1e-6)
    per = Study(mlm, texts, qoi=PerSentence(lambda inst: TokenContrast("is", "are")), steps=3, level="embedding")
    assert per.run().explanations[1].q_input == pytest.approx(reference.explanations[1].q_input, rel=1e-6)


# -- 6: the weights are part of the study ------------------------------------------------------


def test_a_model_folder_resaved_with_other_weights_is_refused(tmp_path):
    folder = tmp_path / "model"
    first = tiny_model(seed=0)
    first.hf_model.save_pretrained(folder)
    first.tokenizer.save_pretrained(folder)
    path = tmp_path / "s.jsonl"
    make(load_model(str(folder)), path).run()
    assert make(load_model(str(folder)), path).complete  # the same folder, same weights: resumed
    shutil.copytree(folder, tmp_path / "moved")
    assert make(load_model(str(tmp_path / "moved")), path).complete  # the same weights under another name
    tiny_model(seed=1).hf_model.save_pretrained(folder)  # re-saved with other weights, same name
    with pytest.raises(InputError, match="other model weights"):
        make(load_model(str(folder)), path)


def test_the_fingerprint_is_computed_once_per_load_and_follows_changes(monkeypatch):
    import ipyinfluence.study.fingerprint as fp

    model = tiny_model(seed=0)
    first = weights_fingerprint(model)
    calls = []
    real = fp.hashlib.blake2b
    monkeypatch.setattr(fp.hashlib, "blake2b", lambda **kw: calls.append(1) or real(**kw))
    assert weights_fingerprint(model) == first and calls == []  # cached
    assert weights_fingerprint(tiny_model(seed=0)) == first and calls == [1]  # same weights, another load
    with torch.no_grad():
        next(model.hf_model.parameters())[0, 0] += 1.0  # an in-place change
    assert weights_fingerprint(model) != first
    assert weights_fingerprint(tiny_model(seed=1)) != first


# -- 7: several writers, one record per sentence -------------------------------------------------

WRITER = """
import sys, time, torch
torch.set_num_threads(1)
from pathlib import Path
from ipyinfluence import Study, TokenContrast
from ipyinfluence.tiny import tiny_model
m = tiny_model()
s = Study(m, {texts!r}, TokenContrast("is", "are"), path=sys.argv[1], steps=3, level="embedding", batch_sentences=1)
Path(sys.argv[3]).touch()  # ready: both have opened the study, nothing computed yet
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.01)
s.run()
assert s.complete
"""


def test_two_processes_on_one_file_store_each_sentence_once(tmp_path):
    path, go = tmp_path / "s.jsonl", tmp_path / "go"
    Study(tiny_model(), TEXTS, IS_ARE, path=path, steps=3, level="embedding")  # the header, written once
    texts = TEXTS
    ready = [tmp_path / f"ready-{k}" for k in range(2)]
    children = [subprocess.Popen([sys.executable, "-c", WRITER.format(texts=texts), str(path), str(go), str(r)],
                                 env=ENV, stderr=subprocess.PIPE, text=True) for r in ready]
    deadline = time.monotonic() + 240
    while not all(r.exists() for r in ready) and time.monotonic() < deadline and all(c.poll() is None
                                                                                     for c in children):
        time.sleep(0.05)
    go.touch()  # both run together
    for c in children:
        assert c.wait(timeout=300) == 0, c.stderr.read()
    assert sorted(indices(path)) == [0, 1, 2, 3]


def test_two_objects_and_two_threads_on_one_file_store_each_sentence_once(mlm, tmp_path):
    path = tmp_path / "objects.jsonl"
    a, b = make(mlm, path), make(mlm, path)
    a.run()
    b.run()
    assert sorted(indices(path)) == [0, 1, 2, 3] and b.complete
    path = tmp_path / "threads.jsonl"
    studies = [make(mlm, path), make(mlm, path)]
    threads = [threading.Thread(target=s.run) for s in studies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(indices(path)) == [0, 1, 2, 3]
    for i in range(4):  # both objects hold the stored explanation
        assert studies[0].explanations[i].to_dict() == studies[1].explanations[i].to_dict()


# -- 8: a reader never deletes what a writer appended ---------------------------------------------

WAIT = "import os, time\nwhile not os.path.exists(sys.argv[5]):\n    time.sleep(0.01)\n"
APPENDER = """
import json, sys
""" + WAIT + """from ipyinfluence.results import Explanation
from ipyinfluence.study import StudyStore
store = StudyStore(sys.argv[1])
e = Explanation.from_dict(json.loads(open(sys.argv[2]).read()))
for i in range(int(sys.argv[3])):
    store.append(i, e)
open(sys.argv[4], "w").close()
"""
# Another process appending by the file's protocol (flock held while it writes), each record
# written in two halves with a pause between them: a reader must never see (and cut) a half.
SLOW_APPENDER = """
import fcntl, json, os, sys, time
""" + WAIT + """record = json.loads(open(sys.argv[2]).read())
with open(sys.argv[1], "ab", buffering=0) as f:
    for i in range(int(sys.argv[3])):
        line = json.dumps({"kind": "explanation", "index": i, "explanation": record}).encode() + b"\\n"
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        f.write(line[: len(line) // 2])
        time.sleep(0.01)
        f.write(line[len(line) // 2:])
        os.fsync(f.fileno())
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
open(sys.argv[4], "w").close()
"""
OPENER = """
import sys, time
from pathlib import Path
from ipyinfluence.study import StudyStore
done, opened = Path(sys.argv[2]), 0
StudyStore(sys.argv[1])
Path(sys.argv[3]).touch()  # ready
while not done.exists():
    StudyStore(sys.argv[1])
    opened += 1
print(opened)
"""


@pytest.mark.parametrize("writer, n", [(APPENDER, 150), (SLOW_APPENDER, 150)], ids=["store", "slow"])
def test_opening_while_another_process_appends_loses_nothing(mlm, tmp_path, writer, n):
    one = make(mlm, None, texts=TEXTS[:1]).run().explanations[0]
    instances = SentenceSet.from_texts(TEXTS[:1], mlm).instances * n
    path = tmp_path / "s.jsonl"
    Study(mlm, SentenceSet(instances, IS_ARE), path=path, steps=3, level="embedding")
    (tmp_path / "e.json").write_text(one.to_json())
    done, go = tmp_path / "done", tmp_path / "go"
    ready = [tmp_path / f"ready-{k}" for k in range(2)]
    openers = [subprocess.Popen([sys.executable, "-c", OPENER, str(path), str(done), str(r)], env=ENV,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in ready]
    writer = subprocess.Popen([sys.executable, "-c", writer, str(path), str(tmp_path / "e.json"), str(n), str(done),
                               str(go)], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        time.sleep(0.05)
    go.touch()  # the openers are opening in a loop: now append
    writer.wait(timeout=600)
    assert writer.returncode == 0, writer.stderr.read()
    for o in openers:
        out, err = o.communicate(timeout=120)
        assert o.returncode == 0, err
        assert int(out) > 0  # it did open the file while the writer appended
    assert indices(path) == list(range(n))
    assert len(StudyStore(path).explanations) == n  # every line whole


def test_a_torn_last_line_is_cut_only_by_the_next_append(mlm, tmp_path):
    path = tmp_path / "s.jsonl"
    study = make(mlm, path)
    study.run(should_stop=lambda: True)
    whole = path.read_bytes()
    with path.open("ab") as f:
        f.write(whole.splitlines(keepends=True)[1][:40])  # a crash half way through a record
    torn = path.read_bytes()
    reopened = make(mlm, path)
    assert path.read_bytes() == torn  # opening changes nothing
    assert sorted(reopened.explanations) == [0]
    reopened.run()
    assert indices(path) == [0, 1, 2, 3] and path.read_bytes().startswith(whole)


def test_a_complete_last_line_without_newline_is_kept(mlm, tmp_path):
    path = tmp_path / "s.jsonl"
    make(mlm, path).run(should_stop=lambda: True)
    path.write_bytes(path.read_bytes().rstrip(b"\n"))  # a hand edit dropped the final newline
    study = make(mlm, path)
    assert sorted(study.explanations) == [0]
    study.run()
    assert indices(path) == [0, 1, 2, 3]


# -- 9 and 15: every line checked, errors name the line -------------------------------------------


def _edit(path, number, change):
    rows = Path(path).read_text().splitlines()
    rows[number - 1] = change(rows[number - 1])
    Path(path).write_text("\n".join(rows) + "\n")


def _record(change):
    def edit(line):
        record = json.loads(line)
        change(record)
        return json.dumps(record)

    return edit


@pytest.mark.parametrize("case, change, message", [
    ("swapped", None, r"s.jsonl:2: the record of sentence 0 explains .*pilots"),
    ("fraction", _record(lambda r: r.update(index=1.9)), r"s.jsonl:2: index 1.9 is not a sentence"),
    ("too big", _record(lambda r: r.update(index=99)), r"s.jsonl:2: index 99 is not a sentence.*0 to 3"),
    ("negative", _record(lambda r: r.update(index=-1)), r"s.jsonl:2: index -1 is not a sentence"),
    ("bool", _record(lambda r: r.update(index=True)), r"s.jsonl:2: index true is not a sentence"),
    ("tokens", _record(lambda r: r["explanation"]["tokens"].__setitem__(2, "writer")),
     r"s.jsonl:2: the record of sentence 0 has the tokens"),
    ("no explanation", _record(lambda r: r.pop("explanation")), r"s.jsonl:2: the explanation of sentence 0 is damaged"),
    ("bad words", _record(lambda r: r["explanation"].update(words=[{"position": "x"}])),
     r"s.jsonl:2: the explanation of sentence 0 is damaged"),
    ("kind", _record(lambda r: r.update(kind="note")), r"s.jsonl:2 is not an explanation record"),
    ("garbage", lambda line: "{not json", r"s.jsonl:2 is not a JSON record"),
    ("a list", lambda line: "[1, 2]", r"s.jsonl:2 is not a JSON record"),
])
def test_a_hand_edited_record_is_refused_with_its_line(mlm, tmp_path, case, change, message):
    path = tmp_path / "s.jsonl"
    make(mlm, path).run()
    if case == "swapped":
        rows = path.read_text().splitlines()
        a, b = json.loads(rows[1]), json.loads(rows[2])
        a["index"], b["index"] = b["index"], a["index"]
        path.write_text("\n".join([rows[0], json.dumps(a), json.dumps(b)] + rows[3:]) + "\n")
        message = message.replace("sentence 0", f"sentence {a['index']}")
    else:
        _edit(path, 2, change)
    with pytest.raises(InputError, match=message) as caught:
        make(mlm, path)
    assert "--out" not in str(caught.value) and "another path" in str(caught.value)


@pytest.mark.parametrize("change, message", [
    (_record(lambda h: h.pop("sentences")), "header is damaged \\(no sentences\\)"),
    (_record(lambda h: h["sentences"]["instances"][1].pop("text")), "sentence 1 has no text"),
    (_record(lambda h: h["sentences"]["instances"][2].update(slots=[1])), "sentence 2's slots are not words"),
    (_record(lambda h: h["sentences"]["instances"][0].update(good=5)), "sentence 0's sentence type or contrast"),
    (_record(lambda h: h.update(format="x")), "header is damaged \\(format"),
    (_record(lambda h: h.update(options=[1])), "no explain options"),
    (_record(lambda h: h.update(qois="x")), "QoIs are not one text per sentence"),
    (_record(lambda h: h.pop("weights")), "no weights fingerprint"),
    (lambda line: line[:30], "s.jsonl:1 is not a study header"),
])
def test_a_damaged_header_is_refused_with_its_line(mlm, tmp_path, change, message):
    path = tmp_path / "s.jsonl"
    make(mlm, path)
    _edit(path, 1, change)
    for open_it in (lambda: make(mlm, path), lambda: Study.open(path, mlm)):
        with pytest.raises(InputError, match=message) as caught:
            open_it()
        assert "s.jsonl:1" in str(caught.value) and "--out" not in str(caught.value)


def test_study_open_refuses_damaged_options_and_sentences(mlm, tmp_path):
    path = tmp_path / "s.jsonl"
    make(mlm, path)
    _edit(path, 1, _record(lambda h: h["options"].update(colour="red")))
    with pytest.raises(InputError, match="s.jsonl:1: the study header has unknown explain options \\['colour'\\]"):
        Study.open(path, mlm)
    _edit(path, 1, _record(lambda h: h["options"].update(path="elsewhere.jsonl")))
    with pytest.raises(InputError, match="unknown explain options \\['colour', 'path'\\]"):
        Study.open(path, mlm)
    make(mlm, tmp_path / "t.jsonl")
    _edit(tmp_path / "t.jsonl", 1, _record(lambda h: h["sentences"]["instances"][0].update(colour="red")))
    with pytest.raises(InputError, match="t.jsonl:1: the study header's sentences are damaged"):
        Study.open(tmp_path / "t.jsonl", mlm)


# -- 14: unusable paths, before anything is computed ------------------------------------------------


@pytest.fixture
def no_compute(monkeypatch):
    """Fail the test if a sentence is computed."""
    import ipyinfluence.study.study as study_module

    def refuse(*args, **kwargs):
        raise AssertionError("a sentence was computed")

    monkeypatch.setattr(study_module, "explain_many", refuse)


def test_a_folder_or_empty_path_is_refused(mlm, tmp_path, no_compute):
    with pytest.raises(InputError, match="is a folder; give a file inside it"):
        make(mlm, tmp_path)
    for empty in ("", "  "):
        with pytest.raises(InputError, match="the study path is empty"):
            make(mlm, empty)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="cannot be used|cannot be created"):
        make(mlm, tmp_path / "file" / "s.jsonl")  # a "folder" that is a file


class ReadOnly:
    """Makes a path unwritable: mode bits, and for root (whom mode bits do not stop) the immutable flag."""

    def __init__(self, path):
        self.path = Path(path)

    def __enter__(self):
        self.mode = self.path.stat().st_mode
        self.path.chmod(0o555 if self.path.is_dir() else 0o444)
        if os.geteuid() == 0:
            done = subprocess.run(["chattr", "+i", str(self.path)], capture_output=True)
            if done.returncode != 0:
                self.path.chmod(self.mode)
                pytest.skip(f"running as root and chattr +i failed ({done.stderr!r}): no way to make a path "
                            "read-only here")
        return self.path

    def __exit__(self, *exc):
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(self.path)], check=True)
        self.path.chmod(self.mode)


def test_a_read_only_file_or_folder_is_refused_before_computing(mlm, tmp_path, no_compute):
    path = tmp_path / "s.jsonl"
    make(mlm, path)
    with ReadOnly(path):
        with pytest.raises(InputError, match="read-only and 4 sentences are still to compute"):
            make(mlm, path)
    folder = tmp_path / "locked"
    folder.mkdir()
    with ReadOnly(folder):
        with pytest.raises(InputError, match="cannot be created: its folder is not writable"):
            make(mlm, folder / "s.jsonl")


def test_a_complete_read_only_study_still_loads(mlm, tmp_path):
    path = tmp_path / "s.jsonl"
    make(mlm, path).run()
    with ReadOnly(path):
        study = make(mlm, path)
        assert study.complete and not study.store.writable
        assert Study.open(path, mlm, IS_ARE).aggregate().get("author").count == 1


def test_a_file_from_before_the_qoi_and_weights_were_recorded_resumes_with_a_warning(mlm, tmp_path):
    path = tmp_path / "s.jsonl"
    make(mlm, path).run(should_stop=lambda: True)
    _edit(path, 1, _record(lambda h: (h.pop("weights"), h.update(format=1, qois=["<old repr>"] * 4))))
    with pytest.warns(UserWarning, match="written before studies recorded their QoI and model weights"):
        study = make(mlm, path)
    assert sorted(study.explanations) == [0]
