"""Test-only plugins for Visor's own suite (installed with the dev environment)."""
