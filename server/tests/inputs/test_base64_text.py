"""Base64 as people and tools write it is accepted; anything else is refused with the reason."""

from __future__ import annotations

import base64

import pytest

from app.plugins.base import InvalidInput
from app.plugins.base64_text import decode_base64_text

PAYLOAD = bytes(range(256)) * 3


@pytest.mark.parametrize(
    ("text", "declared"),
    [
        (base64.b64encode(PAYLOAD).decode(), None),
        (base64.encodebytes(PAYLOAD).decode(), None),  # the base64 tool: 76 columns
        (base64.encodebytes(PAYLOAD).decode().replace("\n", "\r\n"), None),  # Windows
        ("  " + base64.b64encode(PAYLOAD).decode() + "\n", None),
        (base64.urlsafe_b64encode(PAYLOAD).decode(), None),
        (base64.b64encode(PAYLOAD).decode().rstrip("="), None),  # padding dropped
        ("data:image/png;base64," + base64.b64encode(PAYLOAD).decode(), "image/png"),
        ("DATA:image/jpeg;charset=x;base64," + base64.encodebytes(PAYLOAD).decode(), "image/jpeg"),
        ("data:;base64," + base64.b64encode(PAYLOAD).decode(), None),
    ],
)
def test_accepted_forms(text: str, declared: str | None) -> None:
    assert decode_base64_text(text) == (PAYLOAD, declared)


@pytest.mark.parametrize(
    ("text", "fragment", "hint"),
    [
        ("/home/me/photo.jpg", "is not base64", "file path"),
        ("photo.jpg", "is not base64", "file path"),
        ("C:\\Users\\me\\scan.png", "is not base64", "file path"),
        ("https://example.com/cat.png", "is not base64", "image_url"),
        ("hello, world!", "is not base64: it contains ','", None),
        ("", "is empty", None),
        ("  \n ", "is empty", None),
        ("QUJDR", "length is impossible", None),
        ("QU=JD", "not valid base64", None),
        ("data:image/png,abc", "not base64 (only ;base64", None),
        ("data:image/png;base64", "malformed data: URL", None),
    ],
)
def test_refusals_say_what_is_wrong(text: str, fragment: str, hint: str | None) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_base64_text(text, "image")
    assert fragment in caught.value.message
    assert caught.value.details["field"] == "image"
    if hint:
        assert hint in caught.value.message
        assert hint in caught.value.details["hint"]


def test_not_a_string() -> None:
    with pytest.raises(InvalidInput, match="must be a base64 string, not int"):
        decode_base64_text(42, "image")
