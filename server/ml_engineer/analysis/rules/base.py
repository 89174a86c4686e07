"""What every rule declares, and the context a rule's check receives."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from typing import ClassVar, Literal

from tree_sitter import Node

from ..findings import Edit, Finding, Fix, Related, Severity
from ..model import SemanticModel
from ..source import SourceText, Span

FixAvailability = Literal["always", "sometimes", "never"]


class RuleContext:
    """The analysed file as a rule sees it."""

    def __init__(self, model: SemanticModel, path: str):
        self.model = model
        self.source: SourceText = model.source
        self.path = path

    @staticmethod
    def span(node: Node) -> Span:
        return Span(node.start_byte, node.end_byte)

    def related(self, node: Node, message: str) -> Related:
        return Related(self.span(node), message)


class Rule:
    """Base class. Subclasses set the class attributes and implement `check`.

    The docstring of a subclass is its documentation, in the sections *What it does*,
    *Why is this bad?*, *Example*, *Use instead*, *Fix safety*, *References*.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    tier: ClassVar[str] = "A"
    summary: ClassVar[str]
    fix_availability: ClassVar[FixAvailability] = "never"

    def check(self, ctx: RuleContext) -> Iterable[Finding]:
        raise NotImplementedError

    @classmethod
    def docs(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def url(cls) -> str:
        return f"https://github.com/ml-engineer-lsp/ml-engineer-lsp/blob/main/docs/rules/{cls.code}.md"

    def finding(
        self,
        node: Node,
        message: str,
        related: Iterable[Related] = (),
        fix: Fix | None = None,
        tags: tuple[str, ...] = (),
        span: Span | None = None,
    ) -> Finding:
        return Finding(
            code=self.code,
            name=self.name,
            severity=self.severity,
            message=message,
            span=span or Span(node.start_byte, node.end_byte),
            related=tuple(related),
            fix=fix,
            tags=tags,
        )


def replace_node(node: Node, new_text: str) -> Edit:
    return Edit(node.start_byte, node.end_byte, new_text)


def insert_after(node: Node, new_text: str) -> Edit:
    return Edit(node.end_byte, node.end_byte, new_text)


def make_fix(title: str, *edits: Edit, safe: bool) -> Fix:
    return Fix(title=title, edits=tuple(edits), safe=safe)


def iter_nodes(nodes: Iterable[Node]) -> Iterator[Node]:
    yield from nodes
