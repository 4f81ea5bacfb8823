"""``run.json``: the settings each task of an output folder was computed with.

Resuming only makes sense with the same settings (a record computed with 51 steps must
not be mixed with one computed with 3), so a run whose settings differ from the folder's is
refused with a message that says which ones differ and how to go on.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import InputError

MANIFEST = "run.json"
# settings added after run folders existed: a folder without one was computed with its default
DEFAULTS = {"quadrature": "paper"}


def read_manifest(out: Path) -> dict[str, Any]:
    path = Path(out) / MANIFEST
    if not path.exists():
        return {"tasks": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"{path} is damaged ({e}); restore it, or start again with a new --out folder.") from None
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), dict) or \
            not all(isinstance(v, dict) for v in data["tasks"].values()):
        raise InputError(f"{path} is not a run manifest ({{'tasks': {{task: settings}}}}); restore it, or start "
                         "again with a new --out folder.")
    return data


def check_settings(out: Path, task: str, settings: dict[str, Any]) -> None:
    """Raise if ``out`` already holds ``task`` computed with other settings."""
    before = read_manifest(out)["tasks"].get(task)
    if before is None:
        return
    differ = {k: (before.get(k, DEFAULTS.get(k)), v) for k, v in settings.items()
              if before.get(k, DEFAULTS.get(k)) != v}
    if differ:
        what = ", ".join(f"{k}: {a!r} there, {b!r} now" for k, (a, b) in differ.items())
        raise InputError(f"{out} already holds {task!r} results computed with other settings ({what}); "
                         "use a new --out folder, or the same settings to resume.")


def write_settings(out: Path, task: str, settings: dict[str, Any]) -> None:
    """Record ``task``'s settings (rank 0 only)."""
    data = read_manifest(out)
    data["tasks"][task] = settings
    path = Path(out) / MANIFEST
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
