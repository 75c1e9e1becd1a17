"""Asynchronous jobs: durable records, a store, a dispatcher and the event stream (SPEC §5).

The API and services see :class:`~app.jobs.models.Job`; the store persists it, the
dispatcher runs PENDING jobs through ``PluginManagementService`` and the event bus tells
listeners (SSE streams) what changed.
"""
