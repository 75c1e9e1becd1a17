"""``visor plugins new NAME``: the folder it writes is a plugin whose own test passes and
whose tool answers with a box, through Visor's real ToolRunner.

The scaffold is not pip-installed here: installing it would leave its entry point in the
test environment (and in every server started from it, issue 29 item 6). Its generated
test runs instead, in a subprocess from the folder, through ``app.plugins.testing``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw
from typer.testing import Result

from app.cli.scaffold import PluginNames
from app.plugins.testing import PluginHarness, image_payload

Invoke = Callable[..., Result]


def _import_plugin_class(root: Path, names: PluginNames) -> type:
    sys.path.insert(0, str(root))
    try:
        spec = importlib.util.find_spec(names.package)
        assert spec is not None and spec.origin is not None
        assert Path(spec.origin).is_relative_to(root)
        module = importlib.import_module(f"{names.package}.plugin")
        return getattr(module, names.class_name)  # type: ignore[no-any-return]
    finally:
        sys.path.remove(str(root))


def test_the_scaffold_passes_its_own_test_and_answers_with_a_box(
    invoke: Invoke, tmp_path: Path
) -> None:
    result = invoke("plugins", "new", "edge-finder", "--dir", tmp_path)
    assert result.exit_code == 0, result.stderr
    root = tmp_path / "visor-edge-finder"
    assert result.stdout.strip() == str(root)  # the folder on stdout, for scripts
    assert "pip install -e ." in result.stderr

    names = PluginNames.of("edge-finder")
    project = tomllib.loads((root / "pyproject.toml").read_text())
    entry = project["project"]["entry-points"]["visor.plugins"]
    assert entry == {"edge-finder": f"{names.package}:{names.class_name}"}

    # Its own test passes as generated (the installed-entry-point test skips, uninstalled).
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "3 passed" in ran.stdout

    # And it answers here too, with a box the dashboard draws.
    plugin_cls = _import_plugin_class(root, names)
    image = Image.new("RGB", (64, 48), "white")
    ImageDraw.Draw(image).ellipse((10, 5, 29, 24), fill="red")
    with PluginHarness(plugin_cls) as harness:
        assert harness.state("edge-finder") == "INITIALIZED"
        found = harness.call("edge-finder.find", image_payload(image))
    assert found["regions"] == [{"box": [10, 5, 20, 20], "label": "content"}]


def test_names_and_existing_folders_are_refused_plainly(invoke: Invoke, tmp_path: Path) -> None:
    bad = invoke("plugins", "new", "9lives", "--dir", tmp_path)
    assert bad.exit_code == 2
    assert "is not a plugin name" in bad.stderr and "Traceback" not in bad.stderr
    assert invoke("plugins", "new", "twice", "--dir", tmp_path).exit_code == 0
    again = invoke("plugins", "new", "twice", "--dir", tmp_path)
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / "visor-twice"]


def test_plugins_without_a_subcommand_still_lists(invoke: Invoke) -> None:
    result = invoke("plugins", "--json")
    assert result.exit_code == 0, result.stderr
    assert '"name":"echo"' in result.stdout.replace(" ", "")
