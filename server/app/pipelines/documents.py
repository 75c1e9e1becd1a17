"""Reading a spec's text (JSON or YAML) within bounds, before any object is built.

A few hundred bytes of YAML can describe a document of 10^8 nodes (aliases of aliases:
"billion laughs") or nest deep enough to exhaust the parser's recursion. PyYAML builds
aliases as shared references, so the blow-up happens later, in whatever walks the data
(validation, the schema check, serialisation). The loader here counts while *composing*
(the node graph, before Python objects exist): nesting depth, aliases, and the size the
document would have with every alias expanded; past any bound it stops with
``invalid_input`` naming the bound. JSON gets the same depth bound.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from app.errors import ErrorCode, VisorError
from app.yaml_errors import yaml_problem

#: Deepest nesting of a spec (objects and lists); real specs use about five levels. Above
#: the largest ``VISOR_MAX_ARGS_DEPTH`` (200) plus the spec's own levels, so a step's args
#: meet the one documented nesting limit (the input resolver's) first; this bound only
#: keeps deep garbage away from the parsers' recursion.
MAX_DEPTH = 256
#: Most aliases (``*name``) in a YAML spec: enough to share a few args between steps.
MAX_ALIASES = 64
#: Most nodes a YAML spec may have with every alias expanded.
MAX_NODES = 100_000


def load(text: str | bytes) -> Any:
    """The data of a JSON or YAML document; ``invalid_input`` when it is neither, or
    when it exceeds a bound."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise _too_deep() from None
    except ValueError:
        return _load_yaml(text)
    check_depth(data)
    return data


def _load_yaml(text: str | bytes) -> Any:
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text)  # reads the first bytes: may refuse them already
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        where, position = yaml_problem(exc)
        raise VisorError(
            f"the pipeline spec is neither JSON nor YAML: {where}",
            code=ErrorCode.INVALID_INPUT,
            details=position,
        ) from exc
    finally:
        if loader is not None:
            loader.dispose()


def _too_deep() -> VisorError:
    return VisorError(
        f"the pipeline spec is nested deeper than {MAX_DEPTH} levels",
        code=ErrorCode.INVALID_INPUT,
        details={"limit": MAX_DEPTH},
    )


def check_depth(data: Any) -> None:
    """Refuse data with values deeper than :data:`MAX_DEPTH` (counted as the YAML loader
    counts: every value on the path; iteratively, so no recursion). Parsed JSON is checked
    here, and every spec a model builds (an inline run's, a job's) too."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _too_deep()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        stack.extend((child, depth + 1) for child in children)


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that measures the node graph as it is composed.

    Each composed node's expanded size (itself plus its children's, an alias counting as
    the whole node it names) is computed from its children's sizes — integers, so the
    measure costs no expansion.
    """

    def __init__(self, stream: str | bytes) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise VisorError(
                    f"the pipeline spec uses more than {MAX_ALIASES} YAML aliases",
                    code=ErrorCode.INVALID_INPUT,
                    details={"limit": MAX_ALIASES},
                )
            node = super().compose_node(parent, index)
            if id(node) not in self._sizes:  # the alias names a node still being composed
                raise VisorError(
                    "the pipeline spec has a YAML alias inside the node it names",
                    code=ErrorCode.INVALID_INPUT,
                )
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _too_deep()
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._measure(node)
        return node

    def _measure(self, node: yaml.Node | None) -> None:
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        else:
            children = []
        size = 1 + sum(self._sizes[id(child)] for child in children)
        if size > MAX_NODES:
            raise VisorError(
                f"the pipeline spec would have more than {MAX_NODES} values with its YAML "
                "aliases expanded",
                code=ErrorCode.INVALID_INPUT,
                details={"limit": MAX_NODES},
            )
        self._sizes[id(node)] = size
