"""The client stays a small package of its own: no server code, three pinned dependencies."""

from __future__ import annotations

import ast
import tomllib

from client_setup import ROOT

PACKAGE = ROOT / "client" / "visor_client"


def test_dependencies_are_httpx_pydantic_websockets_pinned() -> None:
    project = tomllib.loads((ROOT / "client/pyproject.toml").read_text())["project"]
    names = {dep.split(">")[0].split("<")[0].split("=")[0] for dep in project["dependencies"]}
    assert names == {"httpx", "pydantic", "websockets"}
    assert all("<" in dep and ">=" in dep for dep in project["dependencies"]), "pin ranges"


def test_imports_nothing_of_the_server_or_beyond_its_dependencies() -> None:
    allowed = {"httpx", "pydantic", "websockets", "visor_client", "PIL"}
    for module in PACKAGE.glob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            foreign = {r for r in roots if r not in allowed and r not in _stdlib()}
            assert not foreign, f"{module.name} imports {foreign}"


def _stdlib() -> frozenset[str]:
    import sys

    return frozenset(sys.stdlib_module_names) | {"__future__"}
