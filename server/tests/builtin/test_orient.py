"""orient: boxes and points found on a turned page map back onto the input image."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.plugins.builtin.orient import turn, unturn_box, unturn_point


@pytest.mark.parametrize("degrees", [0, 90, 180, 270])
def test_a_marked_rectangle_maps_back_exactly(degrees: int) -> None:
    size = (120, 80)
    mark = (30, 10, 25, 40)  # x, y, w, h
    image = Image.new("L", size, 255)
    image.paste(0, (mark[0], mark[1], mark[0] + mark[2], mark[1] + mark[3]))
    turned = np.asarray(turn(image, degrees))
    ys, xs = np.nonzero(turned == 0)
    found = (int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1)
    assert unturn_box(found, degrees, size) == mark
    corners = [(found[0], found[1]), (found[0] + found[2], found[1] + found[3])]
    back = [unturn_point(c, degrees, size) for c in corners]
    xs2, ys2 = sorted(p[0] for p in back), sorted(p[1] for p in back)
    assert (xs2[0], ys2[0], xs2[1] - xs2[0], ys2[1] - ys2[0]) == mark


def test_turning_is_clockwise() -> None:
    image = Image.new("L", (40, 20), 255)
    image.putpixel((0, 0), 0)  # top-left corner
    assert turn(image, 90).size == (20, 40)
    assert turn(image, 90).getpixel((19, 0)) == 0  # top-left goes to top-right
