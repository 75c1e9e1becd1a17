"""The web dashboard at ``/`` and the offline API docs at ``/docs`` and ``/redoc``.

Server-rendered page shells (Jinja2) plus small vanilla ES modules that talk to the same
REST API every other client uses. Every script, style and icon ships in this package, so
the pages work on a machine without internet access. See docs/dashboard.md.
"""

from app.dashboard.setup import install_dashboard

__all__ = ["install_dashboard"]
