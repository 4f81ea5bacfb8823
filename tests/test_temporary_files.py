"""Nothing the package makes for a test run outlives it in the temporary folder (issue 16.21;
the suite-wide check is the session fixture in tests/conftest.py)."""

import tempfile

from ipyinfluence import tiny


def test_the_fallback_tokenizer_leaves_no_folder_behind(tmp_path, monkeypatch):
    """Without the offline model, tiny_tokenizer writes a vocabulary file to read it back."""
    monkeypatch.setattr(tiny, "offline_model_path", lambda: None)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    tok = tiny.tiny_tokenizer()
    assert tok.tokenize("the guards are happy .") == ["the", "guards", "are", "happy", "."]
    assert list(tmp_path.iterdir()) == []
