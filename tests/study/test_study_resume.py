"""A study survives a killed process and a torn last line: resume loses and duplicates nothing."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ipyinfluence import InputError, Study, TokenContrast
from ipyinfluence.study import ContrastBy, SentenceSet, StudyStore

REPO = Path(__file__).resolve().parents[2]
WORDS = {"subject": {"sing": ["author", "pilot", "surgeon"], "plur": ["authors", "pilots", "surgeons"]},
         "verb": ["like", "hate"]}
TEMPLATE = "the {subject} that the guards {verb} [MASK] happy ."
AGREE = ContrastBy("subject", {"sing": ("is", "are"), "plur": ("are", "is")})

# Run in a child process: build the same study and kill the process (SIGKILL, no clean-up)
# right after the third sentence is saved.
CHILD = """
import os, signal, sys, torch
torch.set_num_threads(1)
from ipyinfluence import Study
from ipyinfluence.study import ContrastBy, SentenceSet
from ipyinfluence.tiny import tiny_model
m = tiny_model()
s = SentenceSet.from_template({template!r}, {words!r}, m, ContrastBy("subject", {{"sing": ("is", "are"), "plur": ("are", "is")}}))
st = Study(m, s, path=sys.argv[1], steps=3, batch_sentences=2)
st.run(on_sentence=lambda i, e: len(st.explanations) == 3 and os.kill(os.getpid(), signal.SIGKILL))
"""


def records(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def make(mlm, path, **kw):
    return Study(mlm, SentenceSet.from_template(TEMPLATE, WORDS, mlm, AGREE), path=path, steps=3, batch_sentences=2,
                 **kw)


def test_killed_run_resumes_without_loss_or_duplicates(mlm, tmp_path):
    path = tmp_path / "study.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    child = subprocess.run([sys.executable, "-c", CHILD.format(template=TEMPLATE, words=WORDS), str(path)], env=env,
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == -9, child.stderr  # killed, not finished
    saved = records(path)
    assert saved[0]["kind"] == "study" and [r["index"] for r in saved[1:]] == [0, 1, 2]
    # a write cut short by a crash: half of a fourth record without its newline
    line = json.dumps({"kind": "explanation", "index": 3, "explanation": saved[1]["explanation"]})
    with path.open("a") as f:
        f.write(line[: len(line) // 2])

    resumed = make(mlm, path)  # "after the kernel restart"
    assert sorted(resumed.explanations) == [0, 1, 2] and resumed.pending == list(range(3, 12))
    computed = []
    resumed.run(on_sentence=lambda i, e: computed.append(i))
    assert computed == list(range(3, 12)) and resumed.complete
    final = records(path)
    indices = [r["index"] for r in final[1:]]
    assert sorted(indices) == list(range(12)) and len(indices) == len(set(indices)) == 12

    fresh = make(mlm, None).run()  # the same study in one go, no file
    for i in range(12):
        _same(resumed.explanations[i], fresh.explanations[i])
    again = Study.open(path, mlm)  # from the file alone
    assert again.complete and again.pending == [] and len(again) == 12
    assert again.aggregate().get("subject").count == 12


def _same(a, b):
    assert [w.embedding.positions for w in a.words] == [w.embedding.positions for w in b.words]
    assert [w.attention.routes for w in a.words] == [w.attention.routes for w in b.words]
    assert [w.total_influence for w in a.words] == pytest.approx([w.total_influence for w in b.words], rel=1e-5,
                                                                 abs=1e-9)


def test_a_thousand_sentence_study_reloads(mlm, tmp_path):
    words = {"a": [str(i) for i in range(10)], "b": [str(i) for i in range(10)], "c": [str(i) for i in range(10)]}
    s = SentenceSet.from_template("{a} {b} {c} [MASK] .", words, mlm, TokenContrast("is", "are"))
    path = tmp_path / "big.jsonl"
    study = Study(mlm, s, path=path, steps=3, level="embedding", batch_sentences=1)
    assert len(study) == 1000
    one = study.run(should_stop=lambda: True).explanations[0]  # one real explanation, then stop
    study.store.append(0, one)  # a second write of an index that is stored: ignored
    with path.open("a") as f:  # the other 999 as copies of it, each given its sentence's text and tokens
        f.write("".join(json.dumps({"kind": "explanation", "index": i, "explanation": _as(one, s[i].text, mlm)})
                        + "\n" for i in range(1, 1000)))
    back = Study(mlm, SentenceSet.from_template("{a} {b} {c} [MASK] .", words, mlm, TokenContrast("is", "are")),
                 path=path, steps=3, level="embedding", batch_sentences=1)
    assert back.complete and len(back.explanations) == 1000
    assert back.explanations[999].to_dict() == _as(one, s[999].text, mlm)
    assert len(records(path)) == 1001


def _as(explanation, text, model):
    """``explanation``'s record as if it explained ``text`` (only the file's round trip is tested with it):
    its text, its tokens, and each word's token (the schema checks them against the tokens)."""
    tokens = model.encode(text).tokens
    record = explanation.to_dict()
    for w in record["words"]:
        w["token"] = tokens[w["position"]]
    return {**record, "text": text, "tokens": tokens}


def test_another_study_in_the_same_file_is_refused(mlm, tmp_path):
    path = tmp_path / "s.jsonl"
    make(mlm, path)
    with pytest.raises(InputError, match="other explain options"):
        Study(mlm, SentenceSet.from_template(TEMPLATE, WORDS, mlm, AGREE), path=path, steps=5)
    with pytest.raises(InputError, match="another sentence set"):
        Study(mlm, SentenceSet.from_template(TEMPLATE, {**WORDS, "verb": ["love"]}, mlm, AGREE), path=path, steps=3)
    (tmp_path / "junk.jsonl").write_text('{"x": 1}\n')
    with pytest.raises(InputError, match="not a study file"):
        StudyStore(tmp_path / "junk.jsonl")
