"""Sources: cameras and streams the server pulls itself, with tracking, zones, lines and sinks."""
