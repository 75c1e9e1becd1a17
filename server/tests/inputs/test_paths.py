"""image_path reads only from under the input roots: no '..', no symlink, no absolute escape."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.inputs.paths import PathReader
from app.plugins.base import InvalidInput

LIMIT = 1024 * 1024


def test_files_under_a_root_are_read(input_root: Path, photo_jpeg: bytes) -> None:
    reader = PathReader([input_root], max_bytes=LIMIT)
    assert reader.read(str(input_root / "photo.jpg")) == photo_jpeg
    assert reader.read("photo.jpg") == photo_jpeg  # relative: from the first root
    assert reader.read("inside-link.jpg") == photo_jpeg  # a symlink that stays inside
    assert reader.read(str(input_root / "sub" / ".." / "photo.jpg")) == photo_jpeg


def test_a_symlinked_root_means_its_target(input_root: Path, tmp_path: Path) -> None:
    link = tmp_path / "root-link"
    link.symlink_to(input_root)
    assert PathReader([link], max_bytes=LIMIT).read(str(link / "photo.jpg"))


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("../secret.jpg", "outside the allowed input directories"),
        ("sub/../../secret.jpg", "outside the allowed input directories"),
        ("escape.jpg", "outside the allowed input directories"),  # symlink to outside
        ("escape-dir/secret.jpg", "outside the allowed input directories"),
        ("/etc/passwd", "outside the allowed input directories"),
        ("missing.jpg", "does not exist"),
        ("sub", "is not a regular file"),
        ("", "non-empty path"),
        ("photo.jpg\x00.png", "non-empty path"),
    ],
)
def test_escapes_and_mistakes_are_refused(input_root: Path, path: str, fragment: str) -> None:
    reader = PathReader([input_root], max_bytes=LIMIT)
    with pytest.raises(InvalidInput) as caught:
        reader.read(path)
    assert fragment in caught.value.message
    assert caught.value.details["field"] == "image_path"
    assert str(input_root.parent) not in caught.value.message  # no server paths echoed


def test_absolute_path_outside_is_refused_even_if_it_exists(input_root: Path) -> None:
    secret = input_root.parent / "secret.jpg"
    assert secret.exists()
    with pytest.raises(InvalidInput, match="outside"):
        PathReader([input_root], max_bytes=LIMIT).read(str(secret))


def test_files_over_the_limit_are_refused(input_root: Path) -> None:
    with pytest.raises(InvalidInput, match="the limit is 100"):
        PathReader([input_root], max_bytes=100).read("photo.jpg")


def test_disabled_without_roots() -> None:
    with pytest.raises(InvalidInput, match="VISOR_INPUT_ROOTS"):
        PathReader([], max_bytes=LIMIT).read(os.devnull)
