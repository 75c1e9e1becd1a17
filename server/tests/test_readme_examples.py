"""Every shell example in the README runs, as written, against a live server.

The README's fenced ``bash`` blocks are extracted at collection time, so a block someone
adds later is run too, without touching this file. Rules a block must follow:

- It runs from the repository root (here: a scratch directory with ``samples/``,
  ``server/``, ``examples/`` and ``.venv`` linked in), with ``bash -e -o pipefail``.
- ``localhost:8000`` / ``127.0.0.1:8000`` mean the server the first README command starts;
  the test starts one with ``visor serve`` on a free port and rewrites those addresses
  (``VISOR_PORT`` is set too, so ``visor`` commands find it by default).
- Lines ``# => TEXT`` state what the commands before them print: every one must appear,
  in order, in the block's output (stdout and stderr, compared without whitespace and
  table borders; ``...`` matches anything). Each runnable block states at least one.
- A block that must not run (it starts a long-lived server, deploys, ...) says so on its
  first line, visibly: ``# not run by the README test: REASON``. The opening block of two
  install commands is checked by ``test_readme.py`` and CI instead.

A ``python`` block with ``# =>`` lines is an example of the Python client (``visor_client``):
it runs the same way, as a script of the test's Python (``python -``), against the same
server. Other ``python`` blocks are code to copy, not scripts: the plugin guide's
``python`` + ``toml`` pair is tested as a package: pip-installed, found by the running server
through ``POST /v1/plugins/reload`` and run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SHELLS = frozenset({"bash", "sh", "shell", "console"})
SKIP_MARK = "# not run by the README test:"
EXPECT_MARK = "# =>"
BLOCK_TIMEOUT_S = 180.0
SERVER_START_TIMEOUT_S = 120.0
LINKED = ("samples", "server", "examples")


@dataclass(frozen=True)
class Block:
    """One fenced code block of the README."""

    line: int  # 1-based line of the opening fence
    heading: str
    language: str
    text: str

    @property
    def label(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.heading.lower()).strip("-") or "top"
        return f"L{self.line}-{slug}"

    @property
    def skip_reason(self) -> str | None:
        first = next((line.strip() for line in self.text.splitlines() if line.strip()), "")
        return first[len(SKIP_MARK) :].strip() if first.startswith(SKIP_MARK) else None


def fenced_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    heading = ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#") and not line.startswith("#!"):
            heading = line.lstrip("#").strip()
        if line.startswith("```"):
            language = line[3:].strip().split(" ")[0].lower()
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            blocks.append(Block(i + 1, heading, language, "\n".join(lines[i + 1 : end]) + "\n"))
            i = end
        i += 1
    return blocks


def shell_blocks(text: str) -> list[Block]:
    """Shell blocks after the opening install block (which test_readme.py covers)."""
    return [b for b in fenced_blocks(text)[1:] if b.language in SHELLS]


def runnable_blocks(text: str) -> list[Block]:
    return [b for b in shell_blocks(text) if b.skip_reason is None]


def python_examples(text: str) -> list[Block]:
    """``python`` blocks that state their output: scripts using the Python client."""
    return [
        b
        for b in fenced_blocks(text)
        if b.language == "python" and b.skip_reason is None and expectations(b)
    ]


def expectations(block: Block) -> list[str]:
    marked = (line.strip() for line in block.text.splitlines())
    return [line[len(EXPECT_MARK) :].strip() for line in marked if line.startswith(EXPECT_MARK)]


_IGNORED = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\s\u2500-\u257f]")


def normalise(text: str) -> str:
    """Without whitespace, ANSI escapes and box-drawing table borders."""
    return _IGNORED.sub("", text)


def missing_expectations(expected: list[str], output: str) -> list[str]:
    """The expectations not found in order in ``output`` (``...`` matches anything)."""
    haystack = normalise(output)
    position = 0
    missing: list[str] = []
    for item in expected:
        parts = [re.escape(normalise(part)) for part in item.split("...")]
        match = re.compile(".*?".join(parts), re.DOTALL).search(haystack, position)
        if match is None:
            missing.append(item)
        else:
            position = match.end()
    return missing


def localised(block: Block, port: int) -> str:
    return re.sub(r"\b(localhost|127\.0\.0\.1):8000\b", rf"\1:{port}", block.text)


README_TEXT = README.read_text()
RUNNABLE = runnable_blocks(README_TEXT)
PYTHON_EXAMPLES = python_examples(README_TEXT)
#: docs/ pages' Python examples that state their output: run the same way (issue 29).
DOCS_PYTHON_EXAMPLES = [
    (page.name, block)
    for page in sorted((ROOT / "docs").glob("*.md"))
    for block in python_examples(page.read_text())
]


# -- the rules themselves -------------------------------------------------------------------


def test_every_shell_block_runs_or_says_why_not() -> None:
    for block in shell_blocks(README_TEXT):
        reason = block.skip_reason
        if reason is not None:
            assert reason, f"README line {block.line}: say why the block is not run"
        else:
            assert expectations(block), (
                f"README line {block.line} ({block.heading}): state what the example prints "
                f"with at least one '{EXPECT_MARK} ...' line"
            )
    assert len(RUNNABLE) >= 3, "the tour, jobs and CLI examples are runnable"


def test_expectations_match_in_order_with_ellipsis() -> None:
    output = '{"result": {"count": 1},\n "plugin": "faces"}\n│ ocr │ RUNNING │'
    assert missing_expectations(['{"result": {"count": 1}', '"plugin": "faces"'], output) == []
    assert missing_expectations(["ocr ... RUNNING"], output) == []
    assert missing_expectations(['"plugin": "faces"', '"count": 1'], output) == ['"count": 1']
    assert missing_expectations(['"count": 2'], output) == ['"count": 2']


def test_blocks_are_found_with_their_headings() -> None:
    text = "# T\n\n```bash\na\nb\n```\n\n## Jobs\n\n```bash\n# => x\necho x\n```\n```toml\n```\n"
    blocks = fenced_blocks(text)
    assert [(b.line, b.heading, b.language) for b in blocks] == [
        (3, "T", "bash"),
        (10, "Jobs", "bash"),
        (14, "Jobs", "toml"),
    ]
    assert [b.label for b in runnable_blocks(text)] == ["L10-jobs"]


def test_python_examples_are_the_blocks_that_state_their_output() -> None:
    text = "## Python\n\n```python\nprint(1)\n# => 1\n```\n\n```python\nclass P: ...\n```\n"
    assert [b.label for b in python_examples(text)] == ["L3-python"]
    assert len(PYTHON_EXAMPLES) >= 2, "the README shows the Python client, run like the rest"


# -- running them ---------------------------------------------------------------------------


@dataclass
class Stage:
    """A live ``visor serve`` and the directory and environment the examples run in."""

    port: int
    workdir: Path
    env: dict[str, str]
    site: Path  # on the server's PYTHONPATH: plugins installed here are found on reload
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _environment(workdir: Path, port: int, site: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISOR_")}
    bin_dir = str(Path(sys.executable).parent)
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        VISOR_PORT=str(port),
        VISOR_DATA_DIR=str(workdir / "data"),
        PYTHONPATH=str(site),
        PYTHONUNBUFFERED="1",
        COLUMNS="120",  # a common terminal width; rich would otherwise assume 80 in a pipe
    )
    return env


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"visor serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/v1/ready", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"visor serve was not ready after {SERVER_START_TIMEOUT_S}s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    workdir = tmp_path_factory.mktemp("readme")
    for name in LINKED:
        (workdir / name).symlink_to(ROOT / name)
    (workdir / ".venv").symlink_to(Path(sys.prefix))  # `source .venv/bin/activate` works
    site = workdir / "site"
    site.mkdir()
    port = free_port()
    env = _environment(workdir, port, site)
    log = workdir / "server.log"
    visor = shutil.which("visor", path=env["PATH"]) or "visor"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [visor, "serve", "--port", str(port), "--data-dir", str(workdir / "server-data")],
            cwd=workdir,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    staged = Stage(port, workdir, env, site, log)
    try:
        _wait_ready(staged.url, process, log)
        yield staged
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert "Traceback" not in log.read_text(), f"the server log has a traceback:\n{log.read_text()}"


@pytest.mark.slow
@pytest.mark.parametrize("block", RUNNABLE, ids=[b.label for b in RUNNABLE])
def test_readme_example(block: Block, stage: Stage) -> None:
    script = localised(block, stage.port)
    completed = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=stage.workdir,
        env=stage.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream, in the order a terminal shows it
        text=True,
        timeout=BLOCK_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    output = completed.stdout
    where = f"README line {block.line} ({block.heading})"
    assert completed.returncode == 0, f"{where} failed ({completed.returncode}):\n{output}"
    assert "Traceback" not in output, f"{where} printed a traceback:\n{output}"
    missing = missing_expectations(expectations(block), output)
    assert not missing, f"{where}: output lacks {missing}:\n{output}"


@pytest.mark.slow
@pytest.mark.parametrize("block", PYTHON_EXAMPLES, ids=[b.label for b in PYTHON_EXAMPLES])
def test_readme_python_example(block: Block, stage: Stage) -> None:
    _check_python_block(block, stage, f"README line {block.line} ({block.heading}, Python)")


def test_docs_python_examples_include_streams_and_mcp() -> None:
    pages = {page for page, _ in DOCS_PYTHON_EXAMPLES}
    assert {"streams.md", "mcp.md"} <= pages, pages


@pytest.mark.slow
@pytest.mark.parametrize(
    ("page", "block"),
    DOCS_PYTHON_EXAMPLES,
    ids=[f"{page}-{block.label}" for page, block in DOCS_PYTHON_EXAMPLES],
)
def test_docs_python_example(page: str, block: Block, stage: Stage) -> None:
    """A docs/ page's Python example runs to its end against the server and prints what
    its ``# =>`` lines say (a stream example that never returned would time out here)."""
    where = f"docs/{page} line {block.line} ({block.heading}, Python)"
    _check_python_block(block, stage, where)


def _check_python_block(block: Block, stage: Stage, where: str) -> None:
    """Run a Python example against the stage's server: it exits 0 and prints what its
    ``# =>`` lines say."""
    completed = subprocess.run(
        [sys.executable, "-"],
        input=localised(block, stage.port),
        cwd=stage.workdir,
        env=stage.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=BLOCK_TIMEOUT_S,
    )
    output = completed.stdout
    assert completed.returncode == 0, f"{where} failed ({completed.returncode}):\n{output}"
    missing = missing_expectations(expectations(block), output)
    assert not missing, f"{where}: output lacks {missing}:\n{output}"


# -- the plugin guide's package -------------------------------------------------------------


def _guide_package() -> tuple[str, str]:
    """The guide's plugin module and its pyproject.toml, as the README shows them."""
    blocks = fenced_blocks(README_TEXT)
    toml = next(b for b in blocks if b.language == "toml" and "visor.plugins" in b.text)
    index = blocks.index(toml)
    module = next(b for b in reversed(blocks[:index]) if b.language == "python")
    return module.text, toml.text


@pytest.mark.slow
def test_plugin_guide_package_installs_and_reload_finds_it(stage: Stage) -> None:
    import tomllib

    module_text, toml_text = _guide_package()
    project = tomllib.loads(toml_text)  # a complete file: pip would refuse a partial one
    (module_name,) = project["tool"]["setuptools"]["py-modules"]
    (plugin_name,) = project["project"]["entry-points"]["visor.plugins"]
    package = stage.workdir / "visor-size"
    package.mkdir()
    (package / "pyproject.toml").write_text(toml_text)
    (package / f"{module_name}.py").write_text(module_text)
    installed = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "-q", "--no-deps"),
            *("--target", str(stage.site), str(package)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr

    with httpx.Client(base_url=stage.url, timeout=120.0) as client:
        assert plugin_name not in [p["name"] for p in client.get("/v1/plugins").json()["plugins"]]
        reloaded = client.post("/v1/plugins/reload")
        assert reloaded.status_code == 200, reloaded.text
        plugins = {p["name"]: p for p in client.get("/v1/plugins").json()["plugins"]}
        assert plugins[plugin_name]["state"] in ("INITIALIZED", "RUNNING"), plugins[plugin_name]
        with (ROOT / "samples" / "face.jpg").open("rb") as image:
            ran = client.post(f"/v1/plugins/{plugin_name}/tools/measure/run", files={"file": image})
        assert ran.status_code == 200, ran.text
        assert ran.json()["result"] == {"width": 256, "height": 256}
