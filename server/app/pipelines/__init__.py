"""Pipelines: tools chained over one image, run as one governed call (docs/pipelines.md)."""
