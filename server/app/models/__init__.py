"""The model repository: users' ONNX models with manifests and versions, served as plugins.

Each model becomes a governed plugin (plugin ``NAME``, one tool named after its task) that
runs in worker processes through the same ToolRunner as every plugin; see docs/models.md.
"""
