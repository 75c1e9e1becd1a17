"""The README's two fresh-machine commands and CI's command stay the same."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _first_code_block(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("```"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```"))
    return [line for line in lines[start + 1 : end] if line.strip()]


def test_readme_opens_with_exactly_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    before = text[: text.index("```")]
    assert before.strip().startswith("# "), "only the title may precede the commands"
    commands = _first_code_block(text)
    assert len(commands) == 2
    serve, test = commands
    assert serve.startswith("pip install") and serve.endswith("visor serve")
    assert test.startswith("pip install") and "pytest" in test


def test_ci_runs_the_readme_test_command() -> None:
    test_command = _first_code_block((ROOT / "README.md").read_text())[1]
    ci = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert test_command in ci
