"""AskService without the network: backend choice, offline answers, excluded paths, settings."""

from __future__ import annotations

import pytest

from ml_engineer.agent import AgentSettings, AskRequest, AskService, BackendError, LineRange
from ml_engineer.agent.backends.offline import answer_offline
from ml_engineer.analysis.engine import analyze

CODE = """import torch
import torch.nn as nn

model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
criterion = nn.CrossEntropyLoss()

for p in model.parameters():
    p.require_grad = False


def train(loader):
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
"""


def ask(service: AskService, question: str, lines: tuple[int, int], path: str = "train.py") -> AskRequest:
    return AskRequest(text=CODE, question=question, path=path, range=LineRange(*lines))


async def test_no_key_means_offline_answer_with_finding_docs() -> None:
    analysis = analyze(CODE, "train.py")
    if not any(f.code == "ML113" for f in analysis.findings):
        pytest.skip("rule ML113 not available")
    service = AskService(AgentSettings(), env={})
    chunks: list[str] = []
    answer = await service.ask(ask(service, "Why does this layer still train?", (9, 9)), chunks.append)
    assert answer.offline and answer.backend == "offline" and answer.cost_usd == 0.0
    assert "".join(chunks) == answer.markdown
    md = answer.markdown
    assert md.startswith("## Offline answer")
    assert "ANTHROPIC_API_KEY" in md  # how to enable the full agent
    assert "ML113" in md and "requires-grad-typo" in md
    assert "Why is this bad?" in md  # the rule's documentation is included
    assert "Quick fix available:** Rename to `requires_grad`" in md


async def test_offline_answer_lists_only_findings_in_and_near_the_range() -> None:
    analysis = analyze(CODE, "train.py")
    codes = {f.code for f in analysis.findings}
    if not {"ML113", "ML102"} <= codes:
        pytest.skip("rules ML113/ML102 not available")
    answer = answer_offline(analysis, "is the update correct?", LineRange(15, 16), "test")
    assert "ML102" in answer.finding_codes and "ML113" not in answer.finding_codes
    far = answer_offline(analysis, "q", LineRange(1, 1), "test", nearby_lines=2)
    assert far.finding_codes == ()
    assert "no problem in line 1" in far.markdown


async def test_offline_answer_includes_matching_knowledge_topics() -> None:
    kb = pytest.importorskip("ml_engineer.knowledge")
    question = "my validation loss goes up while the training loss goes down"
    hits = kb.get_knowledge_base().search_topics(question, 2)
    if not hits:
        pytest.skip("no knowledge-base topics yet")
    answer = answer_offline(analyze(CODE, "t.py"), question, LineRange(4, 4), "test")
    assert hits[0][0].id in answer.topic_ids
    assert hits[0][0].title in answer.markdown


async def test_offline_backend_on_request_even_with_a_key() -> None:
    service = AskService(AgentSettings(backend="offline"), env={"ANTHROPIC_API_KEY": "sk-ant-x"})
    assert service.backend_for(ask(service, "q", (1, 1))) == ("offline", "offline backend requested")
    answer = await service.ask(ask(service, "q", (1, 1)))
    assert answer.offline


def test_anthropic_backend_without_key_is_a_clear_error() -> None:
    service = AskService(AgentSettings(backend="anthropic"), env={})
    with pytest.raises(BackendError, match="ANTHROPIC_API_KEY") as info:
        service.preview(ask(service, "q", (1, 1)))
    assert info.value.kind == "config"


def test_excluded_paths_are_never_sent() -> None:
    settings, warnings = AgentSettings.from_mapping({"agent": {"excludePaths": ["secret/**", "*.private.py"]}})
    assert warnings == []
    service = AskService(settings, env={"ANTHROPIC_API_KEY": "sk-ant-x"}, workspace="/ws")
    preview = service.preview(ask(service, "q", (4, 4), path="/ws/secret/train.py"))
    assert preview.excluded_by == "secret/**" and not preview.sends and preview.payload is None
    assert preview.bundle is None
    assert "nothing is sent" in preview.text() or "nothing would be sent" in preview.text()
    assert service.preview(ask(service, "q", (4, 4), path="/ws/a.private.py")).excluded_by == "*.private.py"
    assert service.preview(ask(service, "q", (4, 4), path="/ws/src/train.py")).sends


def test_preview_without_key_shows_what_would_be_sent() -> None:
    service = AskService(AgentSettings(), env={})
    preview = service.preview(ask(service, "why?", (14, 16)))
    assert not preview.sends and preview.payload is not None
    text = preview.text()
    assert "agent:    ml-engineer" in text and "backend:  offline" in text
    assert "train.py:1-18" in text  # small file: whole
    data = preview.to_dict()
    assert data["sends"] is False and data["snippets"][0]["start_line"] == 1


def test_question_secrets_are_redacted() -> None:
    service = AskService(AgentSettings(), env={"ANTHROPIC_API_KEY": "sk-ant-x"})
    secret = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
    preview = service.preview(ask(service, f"my token is {secret}, why 401?", (1, 1)))
    assert preview.payload is not None
    assert secret not in str(preview.payload.request_body())
    assert preview.question_redactions == 1


def test_settings_from_lsp_mapping_and_bad_values() -> None:
    settings, warnings = AgentSettings.from_mapping(
        {"agent": {"backend": "cloud", "maxContextTokens": 3000, "model": "opus", "baseUrl": "ftp://x"}}
    )
    assert settings.max_context_tokens == 3000 and settings.model == "opus"
    assert settings.backend == "auto" and settings.base_url == ""
    assert len(warnings) == 2 and any("agent.backend" in w for w in warnings)
    flat, _ = AgentSettings.from_mapping({"agent.maxTokens": 512, "agent.name": "reviewer"})
    assert (flat.max_tokens, flat.name) == (512, "reviewer")
