"""Moved to :mod:`app.responses` (the auth middleware below the API renders with it too).

Kept so branches written before the move still import; delete once they are merged.
"""

from app.responses import FastJSONResponse

__all__ = ["FastJSONResponse"]
