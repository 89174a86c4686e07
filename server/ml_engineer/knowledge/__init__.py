"""ML knowledge base: API explanations for hovers and topics for offline answers.

from ml_engineer.knowledge import get_knowledge_base, render_api_hover
kb = get_knowledge_base()
entry = kb.api("torch.nn.modules.loss.CrossEntropyLoss")   # -> torch.nn.CrossEntropyLoss
kb.argument("torch.optim.AdamW", "weight_decay")
kb.method("optimizer", "zero_grad")
kb.search_topics("my validation loss goes up while training loss goes down")
"""

from ml_engineer.knowledge.base import ITERATION_METHOD, KnowledgeBase, get_knowledge_base
from ml_engineer.knowledge.loader import KnowledgeDataError
from ml_engineer.knowledge.models import ApiEntry, MethodEntry, Pitfall, Topic
from ml_engineer.knowledge.render import render_api_hover, render_method_hover, render_topic

__all__ = [
    "ITERATION_METHOD",
    "ApiEntry",
    "KnowledgeBase",
    "KnowledgeDataError",
    "MethodEntry",
    "Pitfall",
    "Topic",
    "get_knowledge_base",
    "render_api_hover",
    "render_method_hover",
    "render_topic",
]
