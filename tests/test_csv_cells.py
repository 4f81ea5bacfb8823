"""CSV cells a spreadsheet would evaluate are written as text (the OWASP rule); numbers stay numbers."""

import csv
import io

import pytest

from ipyinfluence.csv_cells import dicts_to_csv, safe_cell

HOSTILE = ["=1+1", "@sum(a1)", "-1+2", "+1", "\t=1+1", "\r=1+1", "\n=1", "＝1+1", "-0.5"]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_text_gets_a_quote(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", [-0.5, 3, 0.0, float("nan"), -7])
def test_numbers_stay_numbers(value):
    assert safe_cell(value) is value


@pytest.mark.parametrize("text", ["subject", "h3", "skip@subject → h1@[MASK]", "a=b", "1-2", "", "'=x"])
def test_plain_text_unchanged(text):
    assert safe_cell(text) == text


def test_a_written_csv_reads_back_as_text_and_numbers():
    rows = [{"role": t, "value": -0.25} for t in HOSTILE]
    back = list(csv.DictReader(io.StringIO(dicts_to_csv(["role", "value"], rows), newline="")))
    assert [r["role"] for r in back] == ["'" + t for t in HOSTILE]
    assert {r["value"] for r in back} == {"-0.25"}
