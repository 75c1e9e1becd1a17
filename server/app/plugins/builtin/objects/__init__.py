"""Built-in ``objects`` plugin: the 80 COCO classes with NanoDet-g (shipped; see NOTICE)."""

from app.plugins.builtin.objects.plugin import ObjectsPlugin

__all__ = ["ObjectsPlugin"]
