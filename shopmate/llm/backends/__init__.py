"""Model backends. Each imports its heavy library (torch, openai) on first use only."""

from .openai_backend import OpenAIBackend
from .transformers_backend import (
    ModelNotFoundError,
    TransformersBackend,
    default_model_location,
    model_executor,
)

__all__ = [
    "ModelNotFoundError",
    "OpenAIBackend",
    "TransformersBackend",
    "default_model_location",
    "model_executor",
]
