"""The error tables in README.md and docs/errors.md list exactly the codes of ERROR_TABLE.

Every code the API can return has a row with its type and HTTP status; adding a code to
``app.errors.ERROR_TABLE`` without documenting it (or documenting one that does not exist)
fails here, with the rows to add or remove.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.errors import ERROR_TABLE

ROOT = Path(__file__).resolve().parents[2]
HEADER = "| details.code | type | HTTP | when |"
Row = tuple[str, str, int]


def table_rows(path: Path) -> list[Row]:
    lines = path.read_text().splitlines()
    start = lines.index(HEADER)
    rows: list[Row] = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        code, error_type, http, _when = (cell.strip() for cell in line.strip("|").split("|"))
        status = re.match(r"\d{3}", http)
        assert status, f"{path.name}: {line!r} has no HTTP status"
        rows.append((code.strip("`"), error_type, int(status.group())))
    return rows


def expected_rows() -> set[Row]:
    return {(code.value, kind.value, status) for code, (kind, status) in ERROR_TABLE.items()}


@pytest.mark.parametrize("document", ["README.md", "docs/errors.md"])
def test_error_table_matches_error_table(document: str) -> None:
    rows = table_rows(ROOT / document)
    codes = [code for code, _, _ in rows]
    assert len(codes) == len(set(codes)), f"{document}: a code is listed twice"
    documented, actual = set(rows), expected_rows()
    assert not actual - documented, f"{document}: add rows for {sorted(actual - documented)}"
    assert not documented - actual, f"{document}: remove or fix {sorted(documented - actual)}"


def test_readme_and_docs_tables_are_the_same_table() -> None:
    assert table_rows(ROOT / "README.md") == table_rows(ROOT / "docs" / "errors.md")
