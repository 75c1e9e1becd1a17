"""The durable job store: SQLAlchemy Core tables, engine setup, migrations, repository."""
