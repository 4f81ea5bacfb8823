"""Line widths of the same sentence's patterns under different pattern methods, as the
pattern graph draws them (px), next to the width each would get if scaled to its own
run's largest pattern (the old rule). Widths now are shares of |q(x) − q(b)|, the same
for every method, so a method whose patterns carry almost nothing draws thin lines.

    PYTHONPATH=$PWD python benchmarks/widths_across_methods.py [--model tiny|minilm]
"""

from __future__ import annotations

import argparse

from ipyinfluence import EmbeddingSimilarity, TokenContrast, explain
from ipyinfluence.widgets.geometry import layout
from ipyinfluence.widgets.style import MAX_WIDTH, MIN_WIDTH, line_width


def old_width(influence: float, own_max: float) -> float:  # the rule before: own run's maximum, 1.5..8 px
    return 1.5 + (8.0 - 1.5) * min(1.0, abs(influence) / own_max) if own_max else 1.5


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="tiny", choices=["tiny", "minilm"])
    args = parser.parse_args()
    if args.model == "tiny":
        from ipyinfluence.tiny import tiny_model
        model, text, qoi = tiny_model(task="masked-lm"), "the author that the guards like [MASK] happy .", \
            TokenContrast("is", "are")
    else:
        from ipyinfluence import load_model
        model = load_model("sentence-transformers/all-MiniLM-L6-v2")
        text, qoi = "the author that the guards like is happy .", EmbeddingSimilarity("the writer is glad .")
    print(f"| method | level | largest |I(π)| | q(x)−q(b) | widest line now (px) | thinnest now | widest before |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for method in ("gpr", "attention", "conductance", "internal_influence", "random"):
        level = "attention" if method in ("gpr", "random", "attention") else "embedding"
        try:
            e = explain(model, text, qoi, steps=11, level=level, method=method)
        except Exception as err:  # noqa: BLE001 - a method may not offer this level
            print(f"| {method} | {level} | error: {err} |")
            continue
        lay = layout(e, level=level)
        infl = [abs(d.influence) for d in lay.words]
        own = max(infl)
        now = [line_width(i, lay.scale_max) for i in infl]
        print(f"| {method} | {lay.level} | {own:.3g} | {e.q_input - e.q_baseline:+.3g} | {max(now):.2f} | "
              f"{min(now):.2f} | {old_width(own, own):.2f} |")
    print(f"(widths now: {MIN_WIDTH}..{MAX_WIDTH} px; before: 1.5..8 px, the widest word of every run at 8 px)")


if __name__ == "__main__":
    main()
