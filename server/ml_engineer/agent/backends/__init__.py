"""Answer backends: the Anthropic Messages API (streaming) and the offline analysis-based answerer."""

from .base import Backend, BackendError, BackendResult, ChunkCallback, Payload

__all__ = ["Backend", "BackendError", "BackendResult", "ChunkCallback", "Payload"]
