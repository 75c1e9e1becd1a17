"""The fast base64 decoder answers exactly what binascii's strict decoder answers."""

from __future__ import annotations

import binascii
import random

import pytest

from app.plugins.base64_text import decode_canonical, strict_decode

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _binascii(text: str) -> bytes | None:
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        return None


def _ours(text: str) -> bytes | None:
    try:
        return strict_decode(text)
    except (binascii.Error, ValueError):
        return None


@pytest.mark.parametrize(
    "text",
    ["QUJD", "QUI=", "QQ==", "QUJD====", "QUJD=", "QU=JD", "=QUJ", "Q===", "QUJ", "QUJD\n",
     "QU JD", "QUJ-", "QUJ_", "", "é===", "QR==", "QUJDRA=="],
)  # fmt: skip
def test_edge_cases_decode_as_binascii_does(text: str) -> None:
    assert _ours(text) == _binascii(text)


def test_random_text_decodes_as_binascii_does() -> None:
    rng = random.Random(15)
    for _ in range(20_000):
        pool = _ALPHABET + "=-_ \n." if rng.random() < 0.3 else _ALPHABET
        text = "".join(rng.choice(pool) for _ in range(rng.choice((4, 8, 12, 16))))
        if rng.random() < 0.5:
            pad = rng.randint(1, 2)
            text = text[:-pad] + "=" * pad
        assert _ours(text) == _binascii(text), text


def test_a_photo_sized_image_takes_the_fast_path() -> None:
    data = random.Random(1).randbytes(300_000)
    text = binascii.b2a_base64(data, newline=False).decode()
    assert decode_canonical(text) == data


def test_without_pybase64_binascii_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.plugins import base64_text

    monkeypatch.setattr(base64_text, "_FAST_DECODE", None)
    for text in ("QUJD", "QUJD====", "QU=JD", "QUJ"):
        assert _ours(text) == _binascii(text)
