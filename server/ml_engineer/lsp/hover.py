"""Hover: the finding under the cursor first, then what the knowledge base knows about the ML API
(resolved through the file's imports), or the rule behind a `# noqa: MLxxx` code."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from lsprotocol import types
from tree_sitter import Node

from ..analysis.rules.registry import get_rule
from ..analysis.syntax import dotted_name, text
from .snapshot import Snapshot

if TYPE_CHECKING:
    from .server import MLEngineerServer

log = logging.getLogger(__name__)

_NOQA_CODES = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*))?", re.IGNORECASE)
_CODE = re.compile(r"[A-Za-z]+[0-9]+")


def finding_hover(snapshot: Snapshot, offset: int) -> list[str]:
    parts = []
    for finding in snapshot.findings:
        if not (finding.span.start <= offset < max(finding.span.end, finding.span.start + 1)):
            continue
        rule = get_rule(finding.code)
        lines = [f"**{finding.code}** ({finding.name}): {finding.message}"]
        if finding.fix is not None:
            lines += ["", f"Quick fix: {finding.fix.title}{'' if finding.fix.safe else ' (review the change)'}"]
        if rule is not None:
            lines += ["", "---", "", rule.docs(), "", f"[{finding.code} documentation]({rule.url()})"]
        parts.append("\n".join(lines))
    return parts


def noqa_hover(snapshot: Snapshot, offset: int) -> str | None:
    """On a `# noqa: MLxxx` comment: the title and summary of the code under the cursor (or of all)."""
    assert snapshot.result is not None
    source = snapshot.result.source
    line = source.line_of(offset)
    raw = source.line(line)
    column = len(source.data[source.line_start(line) : offset].decode("utf-8", errors="replace"))
    for match in _NOQA_CODES.finditer(raw):
        if not (match.start() <= column <= match.end()):
            continue
        codes_text = match.group("codes") or ""
        base = match.start("codes") if match.group("codes") else match.end()
        codes = [(base + m.start(), base + m.end(), m.group().upper()) for m in _CODE.finditer(codes_text)]
        chosen = [code for start, end, code in codes if start <= column <= end] or [code for *_, code in codes]
        if not chosen:
            return "**`# noqa`**: silences every ml-engineer rule on this line. Prefer `# noqa: MLxxx` with the codes you mean."
        lines = []
        for code in chosen:
            rule = get_rule(code)
            if rule is None:
                lines.append(f"**{code}**: not an ml-engineer rule (`ml-engineer rule --all` lists them)")
            else:
                lines.append(f"**{code}** ({rule.name}): {rule.summary}. [Documentation]({rule.url()})")
        return "\n\n".join(lines)
    return None


def _expression_at(node: Node) -> Node:
    """Grow an identifier to the attribute chain it ends (`CrossEntropyLoss` -> `nn.CrossEntropyLoss`)."""
    while node.parent is not None and node.parent.type == "attribute" and node.parent.child_by_field_name("attribute") == node:
        node = node.parent
    return node


def api_hover(snapshot: Snapshot, offset: int) -> tuple[str, Node] | None:
    assert snapshot.result is not None
    try:
        from ..knowledge import ITERATION_METHOD, get_knowledge_base, render_api_hover, render_method_hover
        kb = get_knowledge_base()
    except Exception as error:  # the knowledge base is optional for hovers: never fail the request
        log.warning("knowledge base unavailable: %s", error)
        return None
    model = snapshot.result.model
    node = snapshot.result.tree.root_node.named_descendant_for_byte_range(offset, offset)
    if node is None or node.type != "identifier":
        return None
    parent = node.parent
    # `weight_decay=` of `torch.optim.AdamW(...)`
    if parent is not None and parent.type == "keyword_argument" and parent.child_by_field_name("name") == node:
        call = parent.parent.parent if parent.parent is not None else None
        if call is not None and call.type == "call":
            qualname = model.qualname(call)
            entry = kb.api(qualname) if qualname else None
            if entry is not None:
                return render_api_hover(entry, argument=text(node)), node
        return None
    expression = _expression_at(node)
    qualname = model.qualname(expression)
    if qualname:
        entry = kb.api(qualname)
        if entry is not None:
            return render_api_hover(entry), expression
        method = kb.method_for_qualname(qualname)
        if method is not None:
            return render_method_hover(method), expression
    # `opt.zero_grad()`: a method on a known entity
    if expression.type == "attribute":
        receiver = expression.child_by_field_name("object")
        kinds = [model.kind_of_node(receiver, expression)]
        # The knowledge base's "loss" methods are those of the loss *value* (`loss.backward()`),
        # which the model does not bind as an entity: recognise it by name.
        if receiver is not None and receiver.type == "identifier" and "loss" in text(receiver).lower():
            kinds.append("loss")
        for kind in kinds:
            method = kb.method(kind, text(expression.child_by_field_name("attribute"))) if kind else None
            if method is not None:
                return render_method_hover(method), expression
    # `optimizer` itself: what it was built from; `for batch in loader`: what iterating yields
    name = dotted_name(expression)
    if name is not None:
        entity = model.entity(name, expression)
        if expression.parent is not None and expression.parent.type == "for_statement" and \
                expression.parent.child_by_field_name("right") == expression:
            kind = entity.kind if entity is not None else model.kind_of_name(name, expression)
            method = kb.method(kind, ITERATION_METHOD) if kind else None
            if method is not None:
                return render_method_hover(method), expression
        if entity is not None and entity.qualname:
            entry = kb.api(entity.qualname)
            if entry is not None:
                return f"`{name}` is a `{entity.qualname}` ({entity.kind})\n\n" + render_api_hover(entry), expression
    return None


def hover_at(snapshot: Snapshot, uri: str, position: types.Position) -> types.Hover | None:
    if snapshot.result is None:
        return None
    offset = snapshot.offset(uri, position)
    if offset is None:
        return None
    parts = finding_hover(snapshot, offset)
    hover_range = None
    noqa = noqa_hover(snapshot, offset)
    if noqa is not None:
        parts.append(noqa)
    else:
        api = api_hover(snapshot, offset)
        if api is not None:
            markdown, node = api
            parts.append(markdown)
            _, hover_range = snapshot.range(node.start_byte, node.end_byte)
    if not parts:
        return None
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)),
        range=hover_range,
    )


def register(server: MLEngineerServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: MLEngineerServer, params: types.HoverParams) -> types.Hover | None:
        snapshot = ls.store.snapshot_for(params.text_document.uri)
        if snapshot is None:
            return None
        result = hover_at(snapshot, params.text_document.uri, params.position)
        agent = ls.review.hover(snapshot, params.text_document.uri, params.position) if ls.review is not None else []
        if agent and result is not None and isinstance(result.contents, types.MarkupContent):
            result.contents.value += "\n\n---\n\n" + "\n\n---\n\n".join(agent)
        elif agent:
            result = types.Hover(types.MarkupContent(types.MarkupKind.Markdown, "\n\n---\n\n".join(agent)))
        return result
