"""Alembic environment and versions for the job store (applied at server startup)."""
