"""What a user reads (README, docs/, the benchmarks' README, the notebooks, the CLI's help,
the public docstrings) sends them only to files a clone has, describes the product rather
than its history, and states each measured claim once, the same way everywhere."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

from ipyinfluence import explain
from ipyinfluence.cli import main

REPO = Path(__file__).resolve().parents[1]
# a line may name the reference data beside a development checkout only if it says so
DEVELOPER_ONLY = ("development checkout", "developer-only")


def cli_help() -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    return out.getvalue()


def notebook_text(path: Path) -> str:
    return "\n".join("".join(cell["source"]) for cell in json.loads(path.read_text())["cells"])


def user_texts() -> dict[str, str]:
    texts = {p.relative_to(REPO).as_posix(): p.read_text() for p in
             [REPO / "README.md", REPO / "benchmarks" / "README.md", *sorted((REPO / "docs").glob("*.md"))]}
    texts.update({p.relative_to(REPO).as_posix(): notebook_text(p) for p in sorted((REPO / "notebooks").glob("*.ipynb"))})
    texts["ipyinfluence reproduce --help"] = cli_help()
    texts["explain.__doc__"] = explain.__doc__
    texts["ipyinfluence/quadrature.py"] = (REPO / "ipyinfluence" / "quadrature.py").read_text()
    return texts


def test_nothing_sends_a_user_to_files_a_clone_does_not_have():
    bad = re.compile(r"\.\./shared|shared/data|SPEC\.md|\bSPEC\b")
    found = [(name, line.strip()) for name, text in user_texts().items() for line in text.splitlines()
             if bad.search(line) and not any(m in line for m in DEVELOPER_ONLY)]
    assert found == []


def test_a_benchmark_that_reads_reference_data_says_where_it_is():
    """Scripts are developer tools; one that reads ../shared must say that data sits beside a
    development checkout (a clone has none)."""
    for script in sorted((REPO / "benchmarks").glob("*.py")):
        text = script.read_text()
        if re.search(r"\.\./shared|\"shared\"", text):
            assert "development checkout" in text, script.name


def test_the_method_is_the_projects_own_document():
    method = (REPO / "docs" / "method.md").read_text()
    for heading in ("## 1. The graph and its nodes", "### 2.1 Quantity of interest", "### 2.3 Integration rules",
                    "### 3.1 Identities", "### 4.1 Embedding level", "### 4.2 Attention level",
                    "## 5. Comparison methods", "## 6. Evaluation metrics", "## 10. Decoder language models"):
        assert heading in method
    for identity in ("Layer sum", "Path sum", "Route sum", "Completeness"):
        assert f"**{identity}**" in method
    readme = (REPO / "README.md").read_text()
    assert "(docs/method.md)" in readme and "docs/method.md#23-integration-rules" in readme
    assert "docs/method.md" in explain.__doc__ and "docs/method.md" in cli_help()


HISTORY = ["No GPU was lent", "no GPU was lent", "checkout of", "(was ", "d6e4929", "before the adjoint",
           "My recommendation", "the lead decides", "on this branch", "now serves", "the first version"]


def test_user_text_describes_the_product_not_its_history():
    found = [(name, phrase) for name, text in user_texts().items() for phrase in HISTORY if phrase in text]
    assert found == []


def test_one_measured_statement_of_the_default_rules_accuracy():
    """The claims that disagreed: "as accurate with a third of the steps" (CLI, explain),
    "1.6× fewer" (README), "a third is not enough" (benchmarks), "5–50×" vs "5–7×"."""
    texts = {name: text.replace("–", "-") for name, text in user_texts().items()}
    for name, text in texts.items():
        assert "a third of the steps" not in text and "a third of the points" not in text, name
        ratios = set(re.findall(r"([\d.]+-[\d.]+|[\d.]+)× more accurate", text))
        assert ratios <= {"6.6-56"}, (name, ratios)
    for name in ("README.md", "docs/method.md", "ipyinfluence reproduce --help", "explain.__doc__",
                 "ipyinfluence/quadrature.py"):
        compact = " ".join(texts[name].split())
        assert re.search(r"0\.03(-0\.39)?% of max\|g", compact), name  # Gauss–Legendre/32
        assert re.search(r"1\.[78](-2\.6)?%", compact), name  # the paper's 51 points


def test_public_docstrings_cite_the_method_not_the_specification():
    """help() on anything the package exports (and on its module) cites docs/method.md."""
    import inspect
    import sys

    import ipyinfluence
    import ipyinfluence.methods
    import ipyinfluence.metrics
    import ipyinfluence.study

    found = set()
    for pkg in (ipyinfluence, ipyinfluence.metrics, ipyinfluence.methods, ipyinfluence.study):
        for name in getattr(pkg, "__all__", []):
            obj = getattr(pkg, name)
            docs = [obj.__doc__ or ""]
            if inspect.isclass(obj):
                docs += [m.__doc__ or "" for _, m in inspect.getmembers(obj) if callable(m) or isinstance(m, property)]
            module = sys.modules.get(getattr(obj, "__module__", None) or "")
            docs.append(getattr(module, "__doc__", None) or "")
            if any("SPEC" in d for d in docs):
                found.add(f"{pkg.__name__}.{name}")
    assert found == set()
