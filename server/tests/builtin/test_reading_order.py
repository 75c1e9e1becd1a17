"""reading_order: column by column, titles in place, single columns untouched."""

from __future__ import annotations

from app.plugins.builtin.reading_order import reading_order


def _line(x: int, y: int, w: int = 200, h: int = 20) -> tuple[int, int, int, int]:
    return x, y, w, h


def test_two_columns_under_a_title() -> None:
    title = _line(50, 10, 600)
    left = [_line(50, 60 + 30 * i) for i in range(3)]
    right = [_line(450, 60 + 30 * i) for i in range(3)]
    # the engine's order: top to bottom, so the columns interleave
    engine = [title, left[0], right[0], left[1], right[1], left[2], right[2]]
    order = reading_order(engine)
    assert [engine[i] for i in order] == [title, *left, *right]


def test_a_footer_closes_the_columns() -> None:
    left = [_line(50, 30 * i) for i in range(2)]
    right = [_line(450, 30 * i) for i in range(2)]
    footer = _line(50, 200, 600)
    below = [_line(50, 240), _line(450, 240)]
    engine = [left[0], right[0], left[1], right[1], footer, *below]
    order = [engine[i] for i in reading_order(engine)]
    assert order == [*left, *right, footer, *below]


def test_a_single_column_keeps_the_engine_order() -> None:
    lines = [_line(50, 0, 500), _line(50, 30, 300), _line(300, 60, 250), _line(50, 90, 480)]
    assert reading_order(lines) == [0, 1, 2, 3]
    assert reading_order([]) == [] and reading_order([_line(0, 0)]) == [0]
