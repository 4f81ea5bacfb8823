"""Issue 9.10 for the command line (``hypothesis``): any argument list either stops in
argparse (status 2, usage on stderr), or is refused with one line and status 2 without
writing to ``--out``, or gets as far as loading the model. Never a traceback."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ipyinfluence.cli import main


class ReachedTheModel(Exception):
    """Raised instead of loading a model: every check before it passed."""


def mostly(valid, invalid):
    """``valid`` five times in six, else ``invalid``."""
    return st.integers(0, 5).flatmap(lambda i: invalid if i == 5 else valid)


OPTIONS = {
    "--task": mostly(st.sampled_from(["sva-obj", "sa", "all", "ra-gender"]), st.sampled_from(["nope", "", "SVA-OBJ"])),
    "--model": mostly(st.sampled_from(["tiny", "tiny-classifier"]), st.sampled_from(["nope/nope", "", "<img src=x>"])),
    "-n": mostly(st.integers(1, 3).map(str), st.sampled_from(["0", "-1", "x", "1.5", "", "10**9"])),
    "--steps": mostly(st.integers(2, 4).map(str), st.sampled_from(["1", "0", "-1", "x", "2.0", "99999999999999999999"])),
    "--seed": mostly(st.integers(0, 3).map(str), st.sampled_from(["-1", str(2**40), "x"])),
    "--device": mostly(st.just("cpu"), st.sampled_from(["cuda", "cuda:7", "tpu", "", "cpu:0", "meta"])),
    "--baselines": mostly(st.sampled_from(["", "attention", "attention,conductance"]),
                          st.sampled_from(["saliency", ",,", "random"])),
    "--random-runs": mostly(st.integers(0, 3).map(str), st.sampled_from(["-1", "x"])),
    "--sst2": st.sampled_from(["/nonexistent/dev.tsv", "", "."]),
    "--sa-model": st.sampled_from(["tiny-classifier", "nope"]),
}
OUTS = ["new", "file", "file/below", "corrupt-manifest", "/proc/ipyinfluence-x"]


@st.composite
def command_lines(draw):
    args = ["reproduce"]
    keys = draw(st.lists(st.sampled_from(sorted(OPTIONS)), unique=True, max_size=5))
    for must in ("--task", "--model", "-n"):
        if must not in keys and draw(st.integers(0, 9)) < 9:
            keys.append(must)
    for k in keys:
        args += [k, draw(OPTIONS[k])]
    if draw(st.booleans()):
        args.append("--no-progress")
    if draw(st.integers(0, 9)) < 9:
        args += ["--out", "{out}"]
    if draw(st.integers(0, 19)) == 19:
        args.append(draw(st.sampled_from(["--bogus", "extra", "-x"])))
    return args, draw(st.sampled_from(OUTS))


def prepare_out(root: Path, kind: str) -> Path:
    if kind.startswith("/"):
        return Path(kind)
    if kind.startswith("file"):
        (root / "file").write_text("x")
        return root / kind
    out = root / "out"
    if kind == "corrupt-manifest":
        out.mkdir()
        (out / "run.json").write_text("{oops")
    return out


def snapshot(root: Path) -> dict:
    return {str(p): p.read_bytes() if p.is_file() else None for p in sorted(root.rglob("*"))}


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(case=command_lines())
def test_any_command_line_is_handled(case):
    args, kind = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        out = prepare_out(root, kind)
        argv = [str(out) if a == "{out}" else a for a in args]
        before = snapshot(root)
        err = io.StringIO()
        with mock.patch("ipyinfluence.reproduce.runner.load_task_model", side_effect=ReachedTheModel), \
                contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as e:  # argparse
                assert e.code == 2 and "usage:" in err.getvalue(), (argv, err.getvalue())
                event("argparse")
                return
            except ReachedTheModel:
                event("reached the model")
                return
        message = err.getvalue().strip()
        assert code == 2, (argv, message)
        assert len(message.splitlines()) == 1 and message.startswith("ipyinfluence reproduce: "), (argv, message)
        assert snapshot(root) == before, f"a refused command wrote to its folder: {argv}: {message}"
        event("refused: " + " ".join(message.split()[2:4]))
