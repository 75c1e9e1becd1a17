"""One nesting limit for arguments (VISOR_MAX_ARGS_DEPTH): the boundary, and pipelines.

Every tool door is covered in test_doors.py; here the check itself and the pipeline doors,
whose arguments are the steps' ``args`` (saved, or run inline).
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import plugin_sources

from app.inputs.nesting import check_depth
from app.plugins.base import InvalidInput


def nested(depth: int, leaf: Any = "x") -> Any:
    value = leaf
    for level in range(depth):  # objects and arrays alike
        value = {"a": value} if level % 2 else [value]
    return value


@pytest.mark.parametrize("limit", [2, 64])
def test_the_limit_itself_passes_one_more_level_does_not(limit: int) -> None:
    check_depth(nested(limit), limit)
    check_depth(nested(limit, leaf=[]), limit + 1)
    with pytest.raises(InvalidInput) as caught:
        check_depth(nested(limit + 1), limit)
    assert caught.value.details == {
        "field": "args",
        "reason": caught.value.details["reason"],
        "limit_depth": limit,
    }
    check_depth("a scalar", 1)


def test_wide_is_not_deep() -> None:
    check_depth({"regions": [{"box": [1, 2, 3, 4]} for _ in range(10_000)]}, 4)


def test_depth_past_any_recursion_limit_is_checked_without_recursing() -> None:
    with pytest.raises(InvalidInput):
        check_depth(nested(100_000), 64)


def _spec(depth: int) -> str:
    """Built as text: Python's own JSON encoder recurses, and stops near 1,000 levels."""
    deep = '{"a":' * depth + '"x"' + "}" * depth
    step = '{"id": "s", "tool": "echo.echo", "args": {"t": ' + deep + "}}"
    return '{"name": "deep", "steps": [' + step + "]}"


@pytest.mark.parametrize("depth", [100, 300, 800])
def test_pipeline_step_args_past_the_limit_are_refused(make_client: Any, depth: int) -> None:
    client = make_client(plugin_sources("echo"), force_in_process=True)
    headers = {"content-type": "application/json"}
    saved = client.post("/v1/pipelines", content=_spec(depth), headers=headers)
    assert saved.status_code == 400, saved.text
    inline = '{"spec": ' + _spec(depth) + ', "image": "iVBORw0KGgo="}'
    ran = client.post("/v1/pipelines/run", content=inline, headers=headers)
    assert ran.status_code == 400, ran.text
    if depth < 200:  # the args limit, as on every door
        assert "nested more than 64 levels deep" in saved.json()["error"]["message"]
        assert ran.json()["error"]["details"]["limit_depth"] == 64
    else:  # past the spec's own bound, the document is refused before its args are read
        assert "nested deeper than" in saved.json()["error"]["message"]
        assert ran.json()["error"]["details"]["code"] == "invalid_input"
    assert client.get("/v1/pipelines").json()["pipelines"] == []
