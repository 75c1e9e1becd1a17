"""Live streams: frames in over a WebSocket, one governed tool call per processed frame."""
