"""Where a YAML (or JSON) document went wrong, in the words and numbers an editor shows.

``yaml.YAMLError`` carries a 0-based mark; people count lines and columns from 1. Shared
by every reader of YAML a user wrote (pipeline specs, model manifests).
"""

from __future__ import annotations

from typing import Any

import yaml


def yaml_problem(exc: yaml.YAMLError) -> tuple[str, dict[str, Any]]:
    """``("line 3, column 7: mapping values are not allowed here", {"line": 3, ...})``."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or str(exc)
    problem = " ".join(str(problem).split())
    context = getattr(exc, "context", None)
    if context and context != problem:
        problem = f"{problem} ({' '.join(str(context).split())})"
    if mark is None:
        return problem, {}
    line, column = mark.line + 1, mark.column + 1
    return f"line {line}, column {column}: {problem}", {"line": line, "column": column}
