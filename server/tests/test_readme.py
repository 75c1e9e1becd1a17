"""The README's two fresh-machine commands and CI's command stay the same.

Both commands must work on a machine whose system ``pip`` refuses to install outside a
virtual environment (Debian/Ubuntu's externally-managed Python): each makes or reuses
``.venv`` and uses that environment's own ``pip``/``visor``/``python``.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = "python3 -m venv .venv && "


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
    assert serve.startswith(VENV) and serve.endswith(" && .venv/bin/visor serve")
    assert ".venv/bin/pip install -e ./server " in serve
    assert test.startswith(VENV) and test.endswith(" && .venv/bin/python -m pytest")
    # The dev extra carries every test dependency (extras added to it come along).
    assert '.venv/bin/pip install -e "./server[dev,ocr-rapid]"' in test
    for package in ("./server/tests/plugins", "./examples/plugin-template", "./client"):
        assert f"-e {package}" in test


def test_commands_never_use_a_bare_pip_or_python() -> None:
    """A bare ``pip`` would install into the system Python, which Debian refuses."""
    for command in _first_code_block((ROOT / "README.md").read_text()):
        for step in command.split("&&"):
            program = step.split()[0]
            assert program not in {"pip", "pip3", "python", "pytest", "visor"}, step


def test_ci_runs_the_readme_test_command() -> None:
    test_command = _first_code_block((ROOT / "README.md").read_text())[1]
    ci = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert test_command in ci
