"""Built-in ``people`` plugin: OpenCV's HOG pedestrian detector (no model download)."""

from app.plugins.builtin.people.plugin import PeoplePlugin

__all__ = ["PeoplePlugin"]
