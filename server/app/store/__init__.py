"""The database room: engine, metadata, migrations, time and id helpers, leftover sweeps.

Every feature package that keeps rows (jobs, auth, files, pipelines, video) defines its own
tables on :data:`app.store.metadata.metadata` and its own repository, and imports only this
package for the database: never another feature's store. Migrations for every table live
in ``migrations/versions/`` here, one history for the whole database.
"""
