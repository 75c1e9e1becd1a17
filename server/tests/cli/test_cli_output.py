"""Rendering: the plugins table fits a terminal and shows why a plugin cannot serve."""

from __future__ import annotations

from rich.console import Console

from app.cli.output import plugins_table


def test_plugins_table_fits_80_columns_and_lists_reasons() -> None:
    plugins = [
        {
            "name": "ocr",
            "version": "1.0.0",
            "state": "RUNNING",
            "tools": {"read_text": {}, "read_words": {}, "languages": {}},
            "success_count": 12,
            "error_count": 1,
            "avg_execution_time_ms": 41.25,
            "p95_ms": 80.5,
        },
        {
            "name": "ocr-rapid",
            "version": "1.0.0",
            "state": "UNAVAILABLE",
            "tools": {},
            "reason": 'the ocr-rapid extra is needed (pip install "visor-server[ocr-rapid]")',
        },
    ]
    console = Console(width=80, record=True, color_system=None)
    console.print(plugins_table(plugins))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    for fragment in ("read_words", "41.2", "UNAVAILABLE", "ocr-rapid: the ocr-rapid extra"):
        assert fragment in text
