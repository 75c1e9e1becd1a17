"""The layers of docs/architecture.md, as import-linter contracts (server/pyproject.toml).

A module imports only from its own package and the layers below it, and each feature's
tables only from that feature; a new import that crosses a layer upwards fails here with
the offending import chain in the output.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from importlinter.cli import lint_imports

SERVER = Path(__file__).resolve().parents[1]
PYPROJECT = SERVER / "pyproject.toml"


def test_the_import_contracts_are_kept() -> None:
    assert lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True) == 0


def test_every_top_level_package_has_a_layer() -> None:
    """A package missing from the layers would be free to import anything."""
    config = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
    [layers] = [c["layers"] for c in config["contracts"] if c.get("type") == "layers"]
    placed = {
        name.split(".")[1] for layer in layers for name in re.findall(r"app\.[a-z_.]+", layer)
    }
    present = {
        path.stem
        for path in (SERVER / "app").iterdir()
        if (path.is_dir() and (path / "__init__.py").exists())
        or (path.suffix == ".py" and not path.name.startswith("__"))
    }
    assert present - placed == set()
