"""Built-in ``faces`` plugin: OpenCV Haar-cascade face detection."""

from app.plugins.builtin.faces.plugin import FacesPlugin

__all__ = ["FacesPlugin"]
