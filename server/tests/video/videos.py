"""Videos made in the test, with things at known times: QR codes, a face, hostile files.

Frames are drawn with PIL and encoded with PyAV (FFmpeg from the wheel): nothing is
downloaded and no fixture file is checked in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import zxingcpp
from PIL import Image
from skimage import data as skimage_data

#: What the scripted video shows, in seconds of video time (frames at ``FPS``).
FPS = 10
DURATION_S = 6.0
QR_A = ("VISOR-A", 0.0, 2.0)  # text, from, to (exclusive)
QR_B = ("VISOR-B", 3.0, 5.0)
FACE = (1.0, 4.0)


@dataclass(frozen=True)
class Scene:
    width: int = 640
    height: int = 480

    def frame(self, t_s: float) -> Image.Image:
        canvas = Image.new("RGB", (self.width, self.height), (235, 235, 235))
        for text, start, end in (QR_A, QR_B):
            if start <= t_s < end:
                canvas.paste(qr_image(text, scale=5), (24, 24))
        if FACE[0] <= t_s < FACE[1]:
            canvas.paste(face_image(), (self.width - 300, self.height - 300))
        return canvas


def qr_image(text: str, scale: int = 5) -> Image.Image:
    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode)
    return Image.fromarray(np.asarray(zxingcpp.write_barcode_to_image(code, scale=scale))).convert(
        "RGB"
    )


_FACE: Image.Image | None = None


def face_image() -> Image.Image:
    """The astronaut's head and shoulders (scikit-image's sample), 280 px square."""
    global _FACE
    if _FACE is None:
        photo = Image.fromarray(skimage_data.astronaut())
        _FACE = photo.crop((120, 0, 400, 280))
    return _FACE


def write_video(
    path: Path,
    draw: Callable[[float], Image.Image],
    *,
    seconds: float,
    fps: int = FPS,
    size: tuple[int, int] = (640, 480),
    codec: str = "libx264",
    container: str | None = None,
) -> Path:
    """Encode ``draw(t)`` for every frame of ``seconds`` of video at ``fps``."""
    with av.open(str(path), mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if codec == "mjpeg":  # best quality: big frames (the memory test wants a big file)
            stream.codec_context.qmin = stream.codec_context.qmax = 1
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "crf": "18"}
        stream.time_base = Fraction(1, fps)
        for n in range(round(seconds * fps)):
            frame = av.VideoFrame.from_image(draw(n / fps))
            frame.pts = n
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def scripted_video(path: Path, **kwargs: object) -> Path:
    scene = Scene()
    return write_video(path, scene.frame, seconds=DURATION_S, **kwargs)  # type: ignore[arg-type]


def plain_video(
    path: Path, seconds: float, size: tuple[int, int] = (320, 240), fps: int = 30
) -> Path:
    """A moving gradient (cheap to encode and decode), for long and hostile cases."""
    w, h = size
    xs = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]

    def draw(t: float) -> Image.Image:
        shade = (xs + t * 40) % 256
        array = np.broadcast_to(shade, (h, w, 3)).astype(np.uint8)
        return Image.fromarray(array)

    return write_video(path, draw, seconds=seconds, fps=fps, size=size)


# -- hostile files ----------------------------------------------------------------------------


def truncated_video(path: Path, source: Path) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # an mp4 whose index (moov, at the end) is gone
    return path


def png_named_mp4(path: Path) -> Path:
    scene = Scene()
    scene.frame(0.5).save(path, format="PNG")
    return path


def zero_frame_video(path: Path, container: str = "mp4") -> Path:
    """A container with a video stream declared and not one frame in it."""
    with av.open(str(path), mode="w", format=container) as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height = 320, 240
        stream.pix_fmt = "yuv420p"
        out.start_encoding()
    return path
