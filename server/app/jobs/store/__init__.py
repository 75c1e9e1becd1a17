"""The durable job store: the job tables, the repository and large inputs as files.

The database itself (engine, metadata, migrations) is :mod:`app.store`."""
