"""The QoI editor fits the model head and validates as the user types."""

from __future__ import annotations

import pytest

from ipyinfluence import ClassContrast, ClassLogit, EmbeddingSimilarity, InfluenceError, TokenContrast
from ipyinfluence.widgets import QoIEditor
from ipyinfluence.widgets.qoi_editor import NO_CLASS


def test_masked_lm_fields_validate_as_typed(mlm):
    ed = QoIEditor(mlm)
    assert ed.task == "masked-lm" and list(ed.fields.children) == [ed.good, ed.bad]
    assert ed.qoi() == TokenContrast("is", "are") and ed.valid
    ed.good.value = "xylophonist"  # several WordPieces
    assert not ed.valid and "WordPieces" in ed.error and "##" in ed.message.value
    with pytest.raises(InfluenceError, match="WordPieces"):
        ed.qoi()
    ed.good.value = "are"
    assert "same token" in ed.error
    ed.good.value = ""
    assert "two contrast words" in ed.error
    ed.good.value = "is"
    assert ed.valid and ed.error == "" and ed.message.value == ""


def test_token_contrast_position_is_kept(mlm):
    ed = QoIEditor(mlm, TokenContrast("was", "were", position=2))
    assert (ed.good.value, ed.bad.value) == ("was", "were")
    assert ed.qoi() == TokenContrast("was", "were", position=2)


def test_classifier_dropdowns(classifier):
    ed = QoIEditor(classifier)
    assert list(ed.fields.children) == [ed.class_a, ed.class_b]
    assert ed.qoi() == ClassContrast("positive", "negative")
    ed.class_b.value = "positive"
    assert "two different classes" in ed.error
    ed.class_b.value = NO_CLASS
    assert ed.qoi() == ClassLogit("positive")
    ed.set_qoi(ClassContrast(0, 1))  # indices become label names
    assert (ed.class_a.value, ed.class_b.value) == ("negative", "positive")


def test_encoder_reference(encoder):
    ed = QoIEditor(encoder)
    assert list(ed.fields.children) == [ed.reference]
    assert ed.qoi().reference == "a great film"
    ed.reference.value = "  "
    assert "reference sentence" in ed.error


def test_custom_qoi_is_kept_until_a_field_changes(mlm):
    def custom(outputs):
        return outputs.token_logits(1)[:, 0]

    ed = QoIEditor(mlm, custom)
    assert ed.qoi() is custom and "custom QoI" in ed.message.value
    ed.bad.value = "were"  # the user takes over
    assert isinstance(ed.qoi(), TokenContrast)


def test_pending_until_the_model_is_loaded(mlm):
    ed = QoIEditor(qoi=TokenContrast("was", "were"))
    assert ed.task == "" and "loaded" in ed.title.value
    with pytest.raises(InfluenceError, match="no model"):
        ed.qoi()
    ed.set_model(mlm)
    assert ed.qoi() == TokenContrast("was", "were")
    assert isinstance(QoIEditor(mlm, EmbeddingSimilarity("x")).qoi(), EmbeddingSimilarity)  # kept as custom
