"""The name that marks a pipeline wherever tools are named (light: no SQLAlchemy, so the
CLI can check a target without paying for the pipeline machinery)."""

#: The plugin name of a pipeline: jobs (``{"plugin": "pipeline", "tool": name}``), MCP
#: tools (``pipeline.<name>``), ``visor run pipeline.<name>`` and streams.
PIPELINE_JOB_PLUGIN = "pipeline"
