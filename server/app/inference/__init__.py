"""Learned-model inference: onnxruntime sessions, input geometry, NMS and output decoders.

A low-level package: it knows numpy, onnxruntime, OpenCV (resizing) and Visor's settings and
errors, and nothing about plugins, HTTP or the model repository, so built-in plugins and
user models (``app.models``) share one implementation of each step.
"""
