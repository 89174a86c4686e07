"""The "Ask ML engineer" agent layer: agent definitions, context selection, redaction, backends.

Nothing here is imported by the analysis core; ``anthropic`` is imported only when a question is
actually sent to the API.
"""

from .backends.base import BackendError
from .context import ContextBundle, LineRange, select_context
from .definitions import (
    AgentDefinition,
    AgentDefinitionError,
    AgentNotFoundError,
    find_agent,
    load_agent_file,
)
from .models import MODEL_ALIASES, Usage, estimate_cost, resolve_model
from .service import AskAnswer, AskCancelled, AskError, AskRequest, AskService, Preview
from .settings import AgentSettings

__all__ = [
    "MODEL_ALIASES",
    "AgentDefinition",
    "AgentDefinitionError",
    "AgentNotFoundError",
    "AgentSettings",
    "AskAnswer",
    "AskCancelled",
    "AskError",
    "AskRequest",
    "AskService",
    "BackendError",
    "ContextBundle",
    "LineRange",
    "Preview",
    "Usage",
    "estimate_cost",
    "find_agent",
    "load_agent_file",
    "resolve_model",
    "select_context",
]
