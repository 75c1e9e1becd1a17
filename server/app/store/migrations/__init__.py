"""Alembic environment and versions for Visor's database (applied at server startup).

Every feature's migrations go in ``versions/`` here, as one linear history."""
