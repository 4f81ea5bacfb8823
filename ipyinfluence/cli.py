"""The ``ipyinfluence`` command line.

    ipyinfluence reproduce --task sva-obj --model google/bert_uncased_L-6_H-512_A-8 --n 1000 --out runs/obj
    ipyinfluence reproduce --task all --model MLM --sa-model CLASSIFIER --sst2 path/to/SST-2/dev.tsv --n 1000 --out runs/all
    torchrun --nproc_per_node 4 -m ipyinfluence.cli reproduce --task sva-obj --model M -n 1000 --out runs/obj --device cuda

Runs resume: the same command on the same ``--out`` computes only what is missing.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .errors import InfluenceError


def _reproduce_parser(sub) -> None:
    from .reproduce.instance_record import DEFAULT_COMPARISON_METHODS
    from .tasks import TASKS

    p = sub.add_parser("reproduce", help="compute the paper's Table 1 and Figure 5 for one task or all",
                       description="Explain n instances of a task with GPR (both levels) and the baselines, ablate "
                                   "and measure them, write results.jsonl, table1.csv/.md and figure5.png/.svg. "
                                   "Resumable; data-parallel under torchrun.")
    p.add_argument("--task", required=True, choices=list(TASKS) + ["all"])
    p.add_argument("--model", required=True,
                   help="hub id, local folder, or tiny / tiny-mlm / tiny-classifier (random models for tests; "
                        "'tiny' builds the head the task needs)")
    p.add_argument("--n", "-n", dest="n", type=int, required=True,
                   help="number of instances per task (under torchrun write -n: torchrun reads --n as its own)")
    p.add_argument("--out", required=True, help="output folder (created; an existing one is resumed)")
    p.add_argument("--steps", type=int, default=51, help="integration steps (default 51, the paper's)")
    p.add_argument("--quadrature", default="paper",
                   help="integration rule: paper (default here, as Table 1: linspace, plain mean) or gauss-legendre "
                        "(the default of explain and the widgets: with --steps 32, 1.6x fewer points, g_i off by "
                        "0.03-0.39%% of max|g_i| against a converged reference where paper/51 is off by 1.8-2.6%%, "
                        "measured on all-MiniLM-L6-v2; see docs/method.md)")
    p.add_argument("--seed", type=int, default=0, help="instance sampling seed (default 0)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, or cuda:N")
    p.add_argument("--baselines", default=",".join(DEFAULT_COMPARISON_METHODS),
                   help=f"comma-separated baselines besides random (default {','.join(DEFAULT_COMPARISON_METHODS)}; "
                        "'' for none)")
    p.add_argument("--random-runs", type=int, default=3, help="seeds of the random baseline (default 3)")
    p.add_argument("--sst2", default=None, help="GLUE SST-2 dev.tsv (or its folder) for --task sa; "
                                                "default: the `datasets` library")
    p.add_argument("--sa-model", default=None, help="classifier for SA inside --task all (default: --model)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ipyinfluence", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _reproduce_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "reproduce":
        from .reproduce import reproduce

        baselines = [b for b in args.baselines.split(",") if b.strip()]
        try:
            summary = reproduce(args.task, args.model, args.n, args.out, steps=args.steps, seed=args.seed,
                                quadrature=args.quadrature,
                                device=args.device, baselines=[b.strip() for b in baselines],
                                random_runs=args.random_runs, sst2=args.sst2, sa_model=args.sa_model,
                                progress=not args.no_progress, log=lambda s: print(s, flush=True))
        except InfluenceError as e:
            print(f"ipyinfluence reproduce: {e}", file=sys.stderr)
            return 2
        except OSError as e:  # a folder or file that cannot be read or written: one line, not a traceback
            print(f"ipyinfluence reproduce: {e.strerror or e}: {e.filename or args.out}", file=sys.stderr)
            return 2
        print(f"[rank {summary.rank}/{summary.world_size}] done in {summary.seconds:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
