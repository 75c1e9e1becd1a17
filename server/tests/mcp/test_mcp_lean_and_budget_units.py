"""The pure parts of the MCP door's token work: lean schemas and fitting results."""

from __future__ import annotations

from typing import Any

import orjson

from app.mcp.lean import lean
from app.mcp.results import ResultBudget, fit, parse_pointer, pointer


def test_lean_keeps_data_as_it_is_and_survives_recursive_schemas() -> None:
    schema: dict[str, Any] = {
        "title": "In",
        "type": "object",
        "properties": {
            "title": {"title": "Title", "type": "string", "default": "keep"},
            "box": {"type": "object", "default": {"title": "data, not a keyword"}},
            "tree": {"$ref": "#/$defs/Node"},
            "maybe": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
        },
        "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
    }
    listed, _ = lean(schema, "p.t")

    assert "title" not in listed  # the keyword went…
    assert listed["properties"]["title"] == {
        "type": "string",
        "default": "keep",
    }  # …the name stayed
    assert listed["properties"]["box"]["default"] == {"title": "data, not a keyword"}
    assert listed["properties"]["maybe"] == {"type": "integer"}
    assert "$defs" in listed  # a recursive schema keeps its definitions


def test_fit_cuts_the_largest_parts_and_keeps_the_shape() -> None:
    result = {"count": 3, "items": [{"n": i} for i in range(500)], "text": "x" * 3000}
    fitted, cuts = fit(result, 2000)

    assert len(orjson.dumps(fitted)) <= 2000
    assert fitted["count"] == 3 and isinstance(fitted["items"], list)
    assert {c.pointer: c.unit for c in cuts} == {"/items": "items", "/text": "characters"}
    assert fitted["items"] == result["items"][: len(fitted["items"])]
    assert result["text"].startswith(fitted["text"])
    assert fit(result, 10**6) == (result, [])  # a result that fits is returned as it is


def test_pages_cover_the_rest_exactly() -> None:
    budget = ResultBudget(max_tokens=500)
    whole = {"words": [{"w": f"word{i}"} for i in range(400)]}
    fitted, cuts = budget.fit(whole)
    kept = budget.keep(whole, owner="key1")
    assert budget.get(kept, owner="key2") is None  # another caller's

    items, offset = list(fitted["words"]), cuts[0].kept
    while offset is not None:
        page = budget.page(budget.get(kept, owner="key1") or {}, parse_pointer("/words"), offset)
        items += page["items"]
        offset = page["next_offset"]
    assert items == whole["words"]
    assert pointer(("a/b", 0)) == "/a~1b/0" and parse_pointer("/a~1b/0") == ("a/b", 0)
