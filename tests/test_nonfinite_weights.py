"""Issue 16.17: NaN or inf in the model's weights is blamed on the model, by name, not on the QoI."""

from __future__ import annotations

import pytest
import torch

from ipyinfluence import InputError, QoIError, TokenContrast, explain, explain_many
from ipyinfluence.tiny import tiny_model

TEXT = "the author [MASK] happy ."


def damaged(name: str, value: float):
    model = tiny_model("bert", "masked-lm", hidden=16, heads=2, intermediate=20)
    with torch.no_grad():
        dict(model.hf_model.named_parameters())[name].view(-1)[0] = value
    return model


@pytest.mark.parametrize("name,value", [
    ("bert.encoder.layer.1.attention.output.dense.weight", float("nan")),  # inside the encoder
    ("bert.embeddings.position_embeddings.weight", float("inf")),  # every text reads position 0
    ("cls.predictions.transform.dense.weight", float("nan")),  # the masked-LM head
])
def test_nonfinite_weights_are_named(name, value, one_torch_thread):
    model = damaged(name, value)
    with pytest.raises(InputError, match=rf"the model's weights hold NaN or inf values \({name}\).*not the QoI"):
        explain(model, TEXT, TokenContrast("is", "are"), steps=3)
    with pytest.raises(InputError, match=rf"sentence 0 .*weights hold NaN or inf values \({name}\)"):
        explain_many(model, [TEXT], TokenContrast("is", "are"), steps=3).results()


def test_a_nonfinite_qoi_on_a_sound_model_is_still_the_qois_fault(one_torch_thread):
    model = tiny_model("bert", "masked-lm", hidden=16, heads=2, intermediate=20)

    def log_of_negative(out):
        logits = out.token_logits(3)
        return torch.log(-(logits[:, 2003] - logits[:, 2003]) - 1)

    with pytest.raises(QoIError, match="is not finite"):
        explain(model, TEXT, log_of_negative, steps=3)
