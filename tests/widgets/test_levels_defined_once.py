"""Issue 16.22: the two levels are named in one place (results.LEVELS); widgets import it."""

import ast
from pathlib import Path

import ipyinfluence
from ipyinfluence import results
from ipyinfluence.widgets import geometry

PACKAGE = Path(ipyinfluence.__file__).parent


def _assigns_levels(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "LEVELS" for t in node.targets)
               for node in ast.walk(tree))


def test_levels_is_assigned_only_in_results():
    owners = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if _assigns_levels(p))
    assert owners == ["results.py"]


def test_widgets_use_the_engine_levels():
    assert geometry.LEVELS is results.LEVELS
