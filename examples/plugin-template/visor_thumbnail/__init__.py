"""An example Visor plugin: thumbnails and grayscale histograms. Copy it to start yours."""

from visor_thumbnail.plugin import ThumbnailPlugin

__all__ = ["ThumbnailPlugin"]
