"""The wire between the server and its worker processes (see :mod:`.protocol`)."""
