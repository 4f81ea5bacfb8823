"""The engine never imports widget libraries; widgets import the engine, not the reverse."""

import subprocess
import sys

ENGINE = ["ipyinfluence", "ipyinfluence.explain", "ipyinfluence.gpr", "ipyinfluence.functional",
          "ipyinfluence.model", "ipyinfluence.qoi", "ipyinfluence.methods", "ipyinfluence.metrics",
          "ipyinfluence.tasks", "ipyinfluence.progressive", "ipyinfluence.results"]


def test_engine_modules_do_not_import_widgets():
    code = ("import sys\n" + "".join(f"import {m}\n" for m in ENGINE)
            + "bad = [m for m in ('ipywidgets', 'bqplot', 'traitlets', 'IPython') if m in sys.modules]\n"
            + "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"engine imported {out.stdout.strip()}"
