"""Failures of the inference layer, already placed in Visor's error table."""

from __future__ import annotations

from app.errors import ErrorCode, VisorError


class ProviderUnavailable(VisorError):
    """An execution provider this onnxruntime build lacks: the model cannot serve here."""

    code = ErrorCode.PLUGIN_UNAVAILABLE


class ModelMismatch(VisorError):
    """A model's inputs or outputs do not fit what its manifest or decoder expects."""

    code = ErrorCode.INVALID_INPUT
