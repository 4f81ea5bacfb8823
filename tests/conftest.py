"""Shared test fixtures."""

import os
import tempfile

import pytest
import torch


@pytest.fixture
def one_torch_thread():
    """Tiny models gain nothing from intra-op threads, and on a busy 2-core machine torch's
    OpenMP pool stalls them (measured 10-50x slower); torchrun's workers also use one
    thread, so results compare bit for bit. Restored after the test."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def leftovers(folder) -> list[str]:
    """What is in ``folder``, as paths relative to it (files and folders, sorted)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture(scope="session", autouse=True)
def temporary_files_stay_in_pytest_folders(tmp_path_factory):
    """Tests write only under pytest's folders. The temporary folder of this process and of
    every process it starts (kernels, servers, CLI runs: ``TMPDIR``) is a fresh folder under
    pytest's base folder for the whole session, and it must be empty at the end: a file left
    there is a file a real run leaves in /tmp (where a later run may even resume from it).
    Library caches that default to the temporary folder get folders of their own here too:
    torch's compile cache (``torchinductor_<user>``, made when transformers imports it) and
    Hypothesis's (not the checkout's ``.hypothesis``)."""
    tmp = tmp_path_factory.mktemp("TMPDIR", numbered=False)
    saved = {k: os.environ.get(k) for k in ("TMPDIR", "TORCHINDUCTOR_CACHE_DIR")}, tempfile.tempdir
    os.environ["TMPDIR"] = tempfile.tempdir = str(tmp)
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(tmp_path_factory.mktemp("torchinductor")))
    try:
        from hypothesis.configuration import set_hypothesis_home_dir

        set_hypothesis_home_dir(str(tmp_path_factory.mktemp("hypothesis")))
    except ImportError:  # hypothesis is only in the test extra
        pass
    yield tmp
    for key, value in saved[0].items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    tempfile.tempdir = saved[1]
    left = leftovers(tmp)
    assert not left, f"the tests left these in the temporary folder {tmp}: {left[:20]}"
