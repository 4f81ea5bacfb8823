"""Issue 16.10: concurrent ``explain`` on a model left in train mode equals serial.

The engine runs the HF head (RoBERTa's and ELECTRA's classification heads contain dropout)
with the model in eval mode. That switch was per call and shared: one thread restored train
mode while another's head was running, so its dropout fired (13 of 90 results differed).
"""

from __future__ import annotations

import threading

import pytest
import torch

from ipyinfluence import ClassContrast, explain
from ipyinfluence.tiny import tiny_model

TEXTS = ["the movie is good .", "not a good film", "the plot is boring", "a great actor"]


@pytest.mark.parametrize("family", ["electra", "roberta"])
def test_concurrent_explain_in_train_mode_equals_serial(family, one_torch_thread):
    model = tiny_model(family, "classification", seed=3, hidden=16, heads=2, layers=1, intermediate=20,
                       hidden_dropout_prob=0.5, classifier_dropout=0.5)
    model.hf_model.train()  # left in train mode after wrapping: dropout is on in every head
    qoi = ClassContrast(1, 0)
    want = [explain(model, t, qoi, steps=3, level="embedding").to_json() for t in TEXTS]
    got: dict[tuple[int, int], str] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work(worker: int) -> None:
        try:
            torch.set_num_threads(1)
            start.wait()
            for rep in range(6):
                for i, t in enumerate(TEXTS):
                    got[worker, rep * len(TEXTS) + i] = explain(model, t, qoi, steps=3, level="embedding").to_json()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors
    differ = [k for k, v in got.items() if v != want[k[1] % len(TEXTS)]]
    left_in_train = all(m.training for m in model.hf_model.modules())  # the caller's mode is left as it was
    assert len(got) == 4 * 6 * len(TEXTS) and not differ and left_in_train, \
        f"{len(differ)} of {len(got)} differ from serial; caller's train mode kept: {left_in_train}"
