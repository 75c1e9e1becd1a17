"""``python -m app`` is the ``visor`` command."""

from app.cli.main import main

main()
