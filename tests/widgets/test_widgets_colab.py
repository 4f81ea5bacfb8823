"""Colab's custom widget manager is enabled only inside Colab."""

from __future__ import annotations

import sys
import types

from ipyinfluence.widgets import colab


def test_outside_colab_nothing_happens(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(colab, "_enabled", False)
    assert colab.enable_colab_widgets() is False


def test_inside_colab_the_manager_is_enabled_once(monkeypatch):
    calls = []
    output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append(1))
    fake = types.ModuleType("google.colab")
    fake.output = output
    google = types.ModuleType("google")
    google.colab = fake
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", fake)
    monkeypatch.setattr(colab, "_enabled", False)
    assert colab.enable_colab_widgets() is True
    assert colab.enable_colab_widgets() is True
    assert calls == [1]
