"""Every option of ``reproduce`` is checked before anything is written (issue 9.6/9.7):
a refused command leaves its ``--out`` folder as it was, so the corrected command runs."""

from __future__ import annotations

import numbers
import os
from pathlib import Path

import torch

from ..errors import InputError
from ..quadrature import check_quadrature, check_steps


def _count(value, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InputError(f"{name} must be an integer of at least {minimum}; got {value!r}.")


def check_device(device) -> None:
    """``cpu``, ``cuda`` or ``cuda:N`` that exists here."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise InputError(f"--device {device!r} is not a device ({e}); use cpu, cuda or cuda:N.") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"--device {device}: CUDA is not available on this machine (torch "
                             f"{torch.__version__}); use --device cpu.")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s).")
    elif dev.type != "cpu":
        raise InputError(f"--device {device!r}: use cpu, cuda or cuda:N.")


def check_out(out: Path) -> None:
    """``out`` is a folder this process can create and write (or resume)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a folder; pass a folder (new, or one to resume).")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"--out {out}: {existing} is a file, so the folder cannot be created there.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"--out {out}: {existing} is not writable by this user; pick another folder.")


def check_options(*, n, steps, seed, random_runs, device, out, sst2=None, quadrature="paper") -> None:
    _count(n, "n (instances per task)", 1)
    try:
        check_quadrature(quadrature)
    except InputError as e:
        raise InputError(f"--quadrature: {e}") from None
    if steps == "auto":
        raise InputError("--steps: reproduce needs a fixed number of steps (every instance of a table is "
                         "integrated alike); e.g. --steps 51, or --quadrature gauss-legendre --steps 32.")
    try:
        check_steps(steps, quadrature)
    except InputError as e:
        raise InputError(f"--steps: {e}") from None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise InputError(f"--seed must be an integer between 0 and 2**32 - 1; got {seed!r}.")
    _count(random_runs, "random_runs", 0)
    check_device(device)
    if sst2 is not None and not Path(sst2).exists():
        raise InputError(f"--sst2 {sst2} does not exist; pass GLUE SST-2's dev.tsv or its folder.")
    check_out(out)
