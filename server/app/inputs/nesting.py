"""How deep a call's arguments may nest: one limit, checked where every door's payload passes.

JSON parsers accept about a thousand levels, orjson writes about 250 and Python recurses
about a thousand: arguments between those limits used to pass one door and crash another
(a job's input is written with orjson at submit). :func:`check_depth` refuses them first,
with ``invalid_input``, whichever door they came through. It walks the value with its own
stack (no recursion) and stops as soon as the limit is crossed.
"""

from __future__ import annotations

from typing import Any

from app.plugins.base64_text import refuse

#: The default of ``VISOR_MAX_ARGS_DEPTH``: far deeper than any tool's schema goes.
DEFAULT_MAX_DEPTH = 64


def check_depth(value: Any, limit: int, field: str = "args") -> None:
    """Raise ``invalid_input`` if ``value`` nests objects/arrays more than ``limit`` deep.

    The value itself is level 1: ``{"a": [1]}`` is 2 deep, a scalar 0.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if depth > limit:
            raise refuse(
                field,
                f"are nested more than {limit} levels deep (VISOR_MAX_ARGS_DEPTH); "
                "flatten the structure",
                limit_depth=limit,
            )
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
