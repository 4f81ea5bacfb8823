"""study.ablate against a hooked Hugging Face forward; the random control's node counts."""

import pytest
import torch

from ipyinfluence import InputError, Study
from ipyinfluence.metrics import layer_counts
from ipyinfluence.study import ContrastBy, SentenceSet, chosen_nodes, random_control

WORDS = {"subject": {"sing": ["author", "pilot"], "plur": ["authors", "pilots"]},
         "attractor": {"sing": ["guard"], "plur": ["guards"]}}
AGREE = ContrastBy("subject", {"sing": ("is", "are"), "plur": ("are", "is")})


@pytest.fixture(scope="module")
def study(mlm64):
    s = SentenceSet.from_template("the {subject} that the {attractor} like [MASK] happy .", WORDS, mlm64, AGREE)
    return Study(mlm64, s, steps=3).run()


def hooked_q(model, instance, good, bad, layer, head, positions):
    """q from HF's BertForMaskedLM with head ``head`` of ``layer`` zeroed at ``positions`` (a pre-hook on W_O)."""
    hf = model.hf_model
    enc = model.encode(instance.text)
    readout = enc.input_ids.index(model.tokenizer.mask_token_id)
    d = model.weights.head_size

    def pre(mod, args):
        ctx, skip = args
        scale = torch.ones_like(ctx)
        for k in positions:
            scale[:, k, head * d:(head + 1) * d] = 0
        return ctx * scale, skip

    handle = hf.bert.encoder.layer[layer - 1].attention.output.register_forward_pre_hook(pre)
    try:
        with torch.no_grad():
            logits = hf(input_ids=torch.as_tensor([enc.input_ids])).logits[0, readout]
    finally:
        handle.remove()
    return float(logits[model.token_id(good)] - logits[model.token_id(bad)])


@pytest.mark.parametrize("layer, head, at", [(1, 1, "subject"), (2, 3, "[MASK]"), (1, 0, None)])
def test_one_call_ablation_matches_hooked_hf(study, mlm64, layer, head, at):
    r = study.ablate(layer=layer, head=head, at=at, seed=1)
    assert r.indices == list(range(len(study)))
    changed = 0
    for j, i in enumerate(r.indices):
        inst = study.instances[i]
        good, bad = inst.good, inst.bad
        positions = inst.role_positions()[at] if at else range(len(inst.token_roles))
        assert r.q_before[j] == pytest.approx(hooked_q(mlm64, inst, good, bad, layer, head, []), rel=1e-9)
        assert r.q_after[j] == pytest.approx(hooked_q(mlm64, inst, good, bad, layer, head, positions), rel=1e-9)
        changed += r.q_after[j] != pytest.approx(r.q_before[j], rel=1e-9)
    assert changed > 0
    assert r.accuracy_before == sum(q > 0 for q in r.q_before) / len(r.q_before)
    assert len(r.q_control) == len(r.indices)
    assert "accuracy" in r.summary() and f"head {head} of layer {layer}" in r.summary()


def test_node_specs_and_random_control(study):
    inst, e = study.instances[0], study.explanations[0]
    subject = inst.position("subject")
    assert chosen_nodes(inst, e, layer=2, head=1, at="subject") == {("a", 2, subject, 1)}
    assert chosen_nodes(inst, e, layer=1, head="skip", at="subject") == {("s", 1, subject)}
    both = chosen_nodes(inst, e, routes=[(1, 0, "subject"), (2, "skip", "attractor")])
    assert both == {("a", 1, subject, 0), ("s", 2, inst.position("attractor"))}
    pattern = chosen_nodes(inst, e, pattern="subject")
    assert not any(n[0] == "x" for n in pattern) and ("h", 0, subject) in pattern
    assert len([n for n in pattern if n[0] == "h"]) == e.num_layers + 1
    for seed in range(3):
        ctrl = random_control(pattern, e.num_layers, len(e.tokens), e.num_heads, seed)
        assert layer_counts(ctrl) == layer_counts(pattern) and not (ctrl & pattern)
    assert random_control(pattern, 2, len(e.tokens), 4, 0) == random_control(pattern, 2, len(e.tokens), 4, 0)
    with pytest.raises(InputError, match="layer must be 1..2"):
        chosen_nodes(inst, e, layer=3, head=0, at="subject")
    with pytest.raises(InputError, match="head must be 0..3"):
        chosen_nodes(inst, e, layer=1, head=4)
    with pytest.raises(InputError, match="no role 'object'"):
        chosen_nodes(inst, e, layer=1, head=0, at="object")
    with pytest.raises(InputError, match="no nodes to ablate"):
        chosen_nodes(inst, e)


def test_ablating_the_pattern_and_a_subset(study):
    r = study.ablate(pattern="subject", indices=[0, 2], control=False)
    assert r.indices == [0, 2] and r.q_control == [] and len(r.q_after) == 2
    assert r.nodes_per_sentence == [len(chosen_nodes(study.instances[i], study.explanations[i], pattern="subject"))
                                    for i in (0, 2)]
