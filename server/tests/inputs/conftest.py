"""Fixtures for the input-resolver tests: real images, real HTTP servers, input roots."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from image_server import ImageServer
from PIL import Image
from skimage import data as skdata

#: The size of the test photo: results must show it came through, whatever the form.
PHOTO_SIZE = (300, 200)


@pytest.fixture(scope="session")
def photo_jpeg() -> bytes:
    """A real photograph (scikit-image's astronaut), cropped to 300x200, as JPEG."""
    image = Image.fromarray(skdata.astronaut()).crop((100, 0, 400, 200))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=85)
    return buf.getvalue()


@pytest.fixture(scope="session")
def photo_png() -> bytes:
    image = Image.fromarray(skdata.camera()).resize((64, 48))
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def private_host(photo_jpeg: bytes) -> Iterator[ImageServer]:
    """What an attacker aims image_url at: a server on 127.0.0.1."""
    server = ImageServer("127.0.0.1", photo_jpeg).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def trusted_host(photo_jpeg: bytes) -> Iterator[ImageServer]:
    """An image host the test settings trust explicitly (127.0.0.2/32)."""
    server = ImageServer("127.0.0.2", photo_jpeg).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def input_root(tmp_path_factory: pytest.TempPathFactory, photo_jpeg: bytes) -> Path:
    """An input root holding the photo, plus a secret outside it and escape attempts."""
    base = tmp_path_factory.mktemp("inputs")
    root = base / "root"
    (root / "sub").mkdir(parents=True)
    (root / "photo.jpg").write_bytes(photo_jpeg)
    (root / "sub" / "notes.txt").write_text("shopping list: milk, eggs\n")
    secret = base / "secret.jpg"
    secret.write_bytes(photo_jpeg)
    (root / "escape.jpg").symlink_to(secret)
    (root / "escape-dir").symlink_to(base)
    (root / "inside-link.jpg").symlink_to(root / "photo.jpg")
    return root
