"""image_info: size, colours, brightness, sharpness and EXIF, checked against what the
image is (scikit-image's real photos, drawn colour fields, a JPEG with EXIF written here)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from builtin_samples import encode
from PIL import Image, ImageFilter
from skimage import data as skimage_data

from app.plugins.builtin.image_info import _ANALYSIS_EDGE
from app.plugins.testing import PluginHarness, image_payload

QUADRANTS = {"#ff0000": (0, 0), "#00c000": (1, 0), "#0000ff": (0, 1), "#ffffff": (1, 1)}


@pytest.fixture(scope="module")
def info() -> Iterator[PluginHarness]:
    with PluginHarness("image_info") as harness:
        yield harness


def _describe(harness: PluginHarness, image: Image.Image | bytes, **args: object) -> dict[str, Any]:
    mime = {"mime_type": "image/jpeg"} if isinstance(image, bytes) else {}
    return harness.call("image_info.describe", image_payload(image, **mime, **args))


def _quadrants(size: tuple[int, int]) -> Image.Image:
    """Four flat colour fields of equal area (a photo-sized image when ``size`` is)."""
    w, h = size
    image = Image.new("RGB", size)
    for hex_colour, (col, row) in QUADRANTS.items():
        rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        image.paste(rgb, (col * w // 2, row * h // 2, (col + 1) * w // 2, (row + 1) * h // 2))
    return image


def test_a_real_photo_is_described(info: PluginHarness) -> None:
    pixels = skimage_data.astronaut()  # 512x512 RGB: analysed at full size
    result = _describe(info, Image.fromarray(pixels))
    assert (result["format"], result["width"], result["height"]) == ("PNG", 512, 512)
    assert (result["mode"], result["frames"], result["has_alpha"]) == ("RGB", 1, False)
    assert result["megapixels"] == pytest.approx(0.262, abs=0.001)
    mean = pixels.reshape(-1, 3).mean(axis=0)
    assert result["mean_color"]["rgb"] == [round(float(v)) for v in mean]
    luminance = pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    assert result["brightness"] == pytest.approx(luminance.mean() / 255, abs=1e-3)
    assert result["contrast"] == pytest.approx(luminance.std() / 255, abs=1e-3)
    shares = [c["fraction"] for c in result["dominant_colors"]]
    assert len(shares) == 5 and shares == sorted(shares, reverse=True)
    assert sum(shares) == pytest.approx(1.0, abs=1e-3)


def test_dominant_colours_are_the_colours_there_are(info: PluginHarness) -> None:
    for size in ((200, 120), (1600, 1200)):  # small, and photo-sized (sampled for colours)
        result = _describe(info, _quadrants(size), dominant_colors=4)
        found = {c["hex"]: c["fraction"] for c in result["dominant_colors"]}
        assert set(found) == set(QUADRANTS), size
        assert all(share == pytest.approx(0.25, abs=0.02) for share in found.values()), found
    more = _describe(info, _quadrants((300, 300)), dominant_colors=8)["dominant_colors"]
    assert {c["hex"] for c in more} == set(QUADRANTS)  # never a colour that is not there


def test_photo_colours_from_a_sample_represent_the_whole_image(info: PluginHarness) -> None:
    """The dominant colours of a 1600x1200 photo come from a small nearest-neighbour sample.
    As a palette for every analysed pixel they do about as well as a median cut over all of
    them (the mean distance from a pixel to its nearest palette colour), and their shares
    are the shares of the pixels nearest to them, to a few percent."""
    jpeg = encode(Image.fromarray(skimage_data.astronaut()).resize((1600, 1200)), "JPEG")
    result = _describe(info, jpeg)
    analysed = Image.open(io.BytesIO(jpeg)).convert("RGB")
    analysed.thumbnail((_ANALYSIS_EDGE, _ANALYSIS_EDGE))
    pixels = np.asarray(analysed, dtype=np.float32).reshape(-1, 3)
    full = analysed.quantize(colors=5, method=Image.Quantize.MEDIANCUT)
    full_palette = np.array(full.getpalette()[:15], dtype=np.float32).reshape(-1, 3)
    sampled = np.array([c["rgb"] for c in result["dominant_colors"]], dtype=np.float32)
    sampled_error, nearest = _quantisation(pixels, sampled)
    full_error, _ = _quantisation(pixels, full_palette)
    assert sampled_error <= 1.15 * full_error, (sampled_error, full_error)
    shares = np.bincount(nearest, minlength=len(sampled)) / len(pixels)
    for colour, share in zip(result["dominant_colors"], shares, strict=True):
        assert colour["fraction"] == pytest.approx(share, abs=0.05), (colour, share)


def _quantisation(pixels: np.ndarray, palette: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean distance from each pixel to its nearest palette colour, and which one it is."""
    distances = np.linalg.norm(pixels[:, None, :] - palette[None, :, :], axis=2)
    nearest = distances.argmin(axis=1)
    return float(distances.min(axis=1).mean()), nearest


def test_flat_images_and_sharpness(info: PluginHarness) -> None:
    black = _describe(info, Image.new("RGB", (64, 48), "black"))
    white = _describe(info, Image.new("RGB", (64, 48), "white"))
    assert (black["brightness"], white["brightness"]) == (0.0, 1.0)
    assert black["contrast"] == white["contrast"] == 0.0
    assert black["sharpness"] == 0.0
    photo = Image.fromarray(skimage_data.astronaut())
    sharp = _describe(info, photo)["sharpness"]
    blurred = _describe(info, photo.filter(ImageFilter.GaussianBlur(3)))["sharpness"]
    assert sharp > 10 * blurred > 0


def test_exif_orientation_camera_and_gps(info: PluginHarness) -> None:
    photo = Image.fromarray(skimage_data.astronaut()).resize((640, 480))
    exif = Image.Exif()
    exif[0x010F] = "VisorCam"  # Make
    exif[0x0110] = "Model 7"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° to display
    exif.get_ifd(0x8825)[1] = "N"  # a GPS IFD with a latitude ref
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", exif=exif)
    result = _describe(info, buffer.getvalue())
    assert result["exif"]["Make"] == "VisorCam" and result["exif"]["Model"] == "Model 7"
    assert result["exif"]["Orientation"] == 6
    assert result["has_gps"] is True
    assert (result["width"], result["height"]) == (640, 480)  # as stored
    plain = _describe(info, encode(photo, "JPEG"))
    assert plain["exif"] == {} and plain["has_gps"] is False
