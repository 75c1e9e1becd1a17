"""Make a running process see plugin packages installed, upgraded or edited after it started.

``POST /v1/plugins/reload`` re-runs discovery, but Python caches what it found at startup:

- the import system caches directory listings (``importlib.invalidate_caches`` clears
  them, and with them importlib.metadata's path cache, so new entry points are found);
- ``.pth`` files are read once, at interpreter start. An editable install (``pip install
  -e``) works through one (setuptools writes ``__editable__*.pth``, which installs an import
  finder; other backends write a plain path line), so one made after start is applied here;
- modules already imported stay in ``sys.modules``: the third-party plugin packages named
  by entry points are dropped so the next import reads the installed code. Visor's own
  built-ins (``app``) are never dropped: upgrading Visor itself needs a restart.

Process-isolated plugins run in fresh worker processes after a reload anyway; this is what
the server process needs to import, validate and list them.
"""

from __future__ import annotations

import importlib
import logging
import os
import site
import sys
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("visor.loader")

#: The top-level package of Visor itself: never unloaded (that would need a restart).
OWN_PACKAGE = "app"


def see_new_installs() -> None:
    """Invalidate import caches and apply ``.pth`` files added since startup."""
    importlib.invalidate_caches()
    for directory in _site_directories():
        for pth in sorted(directory.glob("*.pth")):
            _apply_pth(directory, pth)
    importlib.invalidate_caches()


def forget_modules(module_paths: Iterable[str]) -> list[str]:
    """Drop the top-level packages of these ``module[:attr]`` paths (and their submodules)
    from ``sys.modules``; returns the packages dropped."""
    packages = {path.split(":", 1)[0].strip().split(".", 1)[0] for path in module_paths}
    packages.discard(OWN_PACKAGE)
    packages.discard("")
    dropped = []
    for package in sorted(packages):
        names = [n for n in sys.modules if n == package or n.startswith(package + ".")]
        for name in names:
            del sys.modules[name]
        if names:
            dropped.append(package)
    if dropped:
        log.info("reload: re-importing plugin packages %s", ", ".join(dropped))
    return dropped


def _site_directories() -> list[Path]:
    candidates = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        candidates.append(site.getusersitepackages())
    return [Path(c) for c in dict.fromkeys(candidates) if os.path.isdir(c)]


def _apply_pth(directory: Path, pth: Path) -> None:
    """What ``site`` does for one ``.pth`` file, limited to what is safe to repeat: new path
    lines, and the import lines of setuptools' editable installs (their ``install()`` is
    idempotent). Other import lines (coverage hooks, shims) already ran at startup."""
    try:
        lines = pth.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return
    editable = pth.name.startswith("__editable__")
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("import ", "import\t")):
            if editable:
                try:
                    exec(line)  # the same statement site.py runs at startup
                except Exception as exc:
                    log.warning("reload: %s failed: %s", pth.name, exc)
            continue
        path = os.path.normpath(directory / line)
        if os.path.isdir(path) and path not in sys.path:
            sys.path.append(path)
