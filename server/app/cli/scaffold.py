"""The files of a new plugin: what ``visor plugins new NAME`` writes.

A working plugin, not a skeleton: one tool that finds the content of an image and returns
its ``box`` (so the dashboard and ``render: true`` draw it), pydantic models for the
schemas, the ``visor.plugins`` entry point, and a test that runs the tool through the real
ToolRunner (``app.plugins.testing``) and passes as generated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

#: Plugin names: letters, digits, _ and - (app.plugins.base), starting with a letter here
#: so that the Python package made from it is a valid identifier.
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")


class ScaffoldError(ValueError):
    """The plugin cannot be written as asked (a bad name, an existing folder)."""


@dataclass(frozen=True)
class PluginNames:
    """Every name derived from the plugin's: one place decides them."""

    plugin: str  # the plugin's name on the server: "size"
    package: str  # the Python package: "visor_size"
    distribution: str  # the pip distribution and the folder: "visor-size"
    class_name: str  # the Plugin subclass: "SizePlugin"

    @classmethod
    def of(cls, name: str) -> PluginNames:
        if not NAME_PATTERN.fullmatch(name):
            raise ScaffoldError(
                f"{name!r} is not a plugin name: use letters, digits, _ and -, "
                "starting with a letter (at most 63 characters)"
            )
        words = re.split(r"[_-]+", name)
        snake = "_".join(w.lower() for w in words if w)
        return cls(
            plugin=name,
            package=f"visor_{snake}",
            distribution=f"visor-{snake.replace('_', '-')}",
            class_name="".join(w[:1].upper() + w[1:] for w in words if w) + "Plugin",
        )


def scaffold(name: str, parent: Path) -> Path:
    """Write the plugin ``name`` into a new folder under ``parent``; return the folder."""
    names = PluginNames.of(name)
    root = parent / names.distribution
    if root.exists():
        raise ScaffoldError(f"{root} already exists: choose another name or --dir")
    values = {
        "plugin": names.plugin,
        "package": names.package,
        "distribution": names.distribution,
        "class_name": names.class_name,
    }
    files = {
        "pyproject.toml": _PYPROJECT,
        "README.md": _README,
        f"{names.package}/__init__.py": _INIT,
        f"{names.package}/plugin.py": _PLUGIN,
        "tests/test_plugin.py": _TEST,
    }
    for relative, template in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(template).substitute(values), encoding="utf-8")
    return root


_PYPROJECT = """\
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "$distribution"
version = "0.1.0"
description = "A Visor plugin: $plugin."
readme = "README.md"
requires-python = ">=3.11"
# visor-server provides app.plugins (the plugin contract). It resolves inside Visor's own
# environment (where Visor is installed); install this plugin into that environment.
dependencies = ["visor-server", "pillow>=10.3"]

[project.optional-dependencies]
test = ["pytest>=8"]

# What makes Visor find the plugin: group "visor.plugins", key = the plugin's name.
[project.entry-points."visor.plugins"]
$plugin = "$package:$class_name"

[tool.setuptools]
packages = ["$package"]

[tool.pytest.ini_options]
pythonpath = ["."]  # the tests run before the plugin is installed, too
"""

_README = """\
# $distribution

A Visor plugin, made by `visor plugins new $plugin`. Its tool `$plugin.find` returns the
`box` around an image's content (everything that differs from the corner colour), which
the dashboard and `render: true` draw over the image.

```
$package/plugin.py   the Plugin subclass: metadata, hooks, @tool methods, schemas
tests/               a test that runs the tool through Visor's real ToolRunner
pyproject.toml       the "visor.plugins" entry point that makes Visor find it
```

Test it (from this folder, with Visor's Python):

```bash
python -m pytest
```

Install it into the environment Visor runs from (`-e`: edits apply on reload, no
reinstall), then restart the server or reload the plugins (an admin key once keys exist):

```bash
python -m pip install -e .
visor plugins                         # lists $plugin
curl -X POST localhost:8000/v1/plugins/reload   # -H "Authorization: Bearer $$VISOR_API_KEY"
visor run $plugin path/to/image.png
```
"""

_INIT = """\
\"\"\"A Visor plugin: $plugin.\"\"\"

from $package.plugin import $class_name

__all__ = ["$class_name"]
"""

_PLUGIN = """\
\"\"\"The plugin: metadata, a startup hook and one tool whose result carries a ``box``.\"\"\"

from __future__ import annotations

from PIL import Image, ImageChops
from pydantic import Field

from app.plugins.base import ImageInput, Plugin, ToolContext, tool
from app.plugins.images import load_image
from app.plugins.vocabulary import ImageResult, Region


class FindInput(ImageInput):  # adds `image` (base64) and `mime_type`
    tolerance: int = Field(
        8, ge=0, le=255, description="How far a pixel may be from the corner colour and "
        "still count as background."
    )


class Content(Region):  # `box`: [x, y, width, height]; a result with boxes gets drawn
    label: str = "content"


class FindOutput(ImageResult):  # `width`, `height`: the image the boxes refer to
    regions: list[Content] = Field(description="The content's box; empty for a blank image.")


class $class_name(Plugin):
    name = "$plugin"  # unique on the server; letters, digits, _ and -
    version = "0.1.0"
    description = "Finds the box around an image's content."
    workers = 1  # at most this many worker processes (operators may override)
    timeout_s = 10.0  # per-call limit

    def startup(self) -> None:
        \"\"\"Once per worker, before the first call: load models here, never at import.\"\"\"

    @tool(default=True, description="The `box` around everything that is not background.")
    def find(self, args: FindInput, ctx: ToolContext) -> FindOutput:
        image = load_image(args).convert("RGB")  # bad files become invalid_input for you
        ctx.progress(0.5, "decoded")
        background = Image.new("RGB", image.size, image.getpixel((0, 0)))
        distance = ImageChops.difference(image, background).convert("L")
        bbox = distance.point(lambda v: 255 if v > args.tolerance else 0).getbbox()
        regions = []
        if bbox is not None:
            x1, y1, x2, y2 = bbox
            regions.append(Content(box=(x1, y1, x2 - x1, y2 - y1)))
        return FindOutput(width=image.width, height=image.height, regions=regions)
"""

_TEST = """\
\"\"\"Runs the plugin through Visor's real ToolRunner: schemas, errors and envelopes as in
production (``app.plugins.testing``).\"\"\"

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
from PIL import Image, ImageDraw

from app.plugins.testing import PluginHarness, image_payload
from $package import $class_name


@pytest.fixture(scope="module")
def harness():
    with PluginHarness($class_name) as h:
        yield h


def test_find_returns_the_box_around_the_content(harness: PluginHarness) -> None:
    image = Image.new("RGB", (120, 80), "white")
    ImageDraw.Draw(image).rectangle((30, 20, 69, 49), fill="black")  # 40 x 30 at (30, 20)
    result = harness.call("find", image_payload(image))
    assert (result["width"], result["height"]) == (120, 80)
    assert result["regions"] == [{"box": [30, 20, 40, 30], "label": "content"}]
    assert harness.progress == [(0.5, "decoded")]


def test_a_blank_image_has_no_content(harness: PluginHarness) -> None:
    assert harness.call("find", image_payload(Image.new("RGB", (10, 10))))["regions"] == []


def test_bad_input_is_refused_with_invalid_input(harness: PluginHarness) -> None:
    error = harness.error("find", image_payload(b"not an image"))
    assert (error["type"], error["details"]["code"]) == ("ValidationError", "invalid_input")
    error = harness.error("find", image_payload(Image.new("RGB", (4, 4)), tolerance=999))
    assert error["details"]["code"] == "invalid_input"


def test_the_installed_entry_point_loads() -> None:
    installed = {ep.name for ep in entry_points(group="visor.plugins")}
    if "$plugin" not in installed:
        pytest.skip("not installed yet: python -m pip install -e .")
    with PluginHarness("$plugin") as by_name:  # proves the packaging (pyproject) is right
        assert by_name.call("find", image_payload(Image.new("RGB", (8, 8))))["regions"] == []
"""
