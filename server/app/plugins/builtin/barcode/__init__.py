"""Built-in ``barcode`` plugin: zxing-cpp decoding of 1-D and 2-D codes."""

from app.plugins.builtin.barcode.plugin import BarcodePlugin

__all__ = ["BarcodePlugin"]
