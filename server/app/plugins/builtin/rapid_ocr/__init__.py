"""Built-in ``ocr-rapid`` plugin (optional extra): rapidocr 3 with bundled PP-OCR models.

Importing this package never imports rapidocr; constructing the plugin checks for it, so
a server without the extra lists the plugin UNAVAILABLE with the install command.
"""

from app.plugins.builtin.rapid_ocr.plugin import RapidOcrPlugin

__all__ = ["RapidOcrPlugin"]
