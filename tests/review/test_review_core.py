"""The review core on plain strings: validation, anchoring, codes, rule duplicates, budget, units."""

from __future__ import annotations

from review_samples import (
    LINE_COUNT,
    LR_LINE,
    MALFORMED,
    OUT_OF_RANGE,
    TRAIN,
    duplicate_of_ml101,
    good_lr,
    tool_input,
)

from ml_engineer.agent.review import (
    Anchor,
    ChangeTracker,
    HourlyBudget,
    ReviewItem,
    agent_code,
    review_units,
    rule_duplicate,
    validate_findings,
)
from ml_engineer.analysis.engine import analyze
from ml_engineer.lsp.review import ReviewSettings

WHOLE = [(1, LINE_COUNT)]


def test_good_items_pass_and_bad_ones_are_dropped_and_counted() -> None:
    result = validate_findings(tool_input(good_lr(), *MALFORMED, *OUT_OF_RANGE), WHOLE, LINE_COUNT)
    assert [(i.start_line, i.title[:13]) for i in result.items] == [(LR_LINE, "Learning rate")]
    assert result.dropped_total == len(MALFORMED) + len(OUT_OF_RANGE)
    assert result.dropped["line range outside the code shown"] == 2
    assert result.dropped["unknown severity"] == 1


def test_items_must_cite_lines_that_were_shown() -> None:
    result = validate_findings(tool_input(good_lr()), [(1, 10), (23, 27)], LINE_COUNT)
    assert result.items == [] and result.dropped == {"line range outside the code shown": 1}


def test_not_a_findings_list_is_counted_not_raised() -> None:
    assert validate_findings("nonsense", WHOLE, LINE_COUNT).dropped == {"no findings list": 1}
    assert validate_findings({"findings": {"a": 1}}, WHOLE, LINE_COUNT).dropped_total == 1


def test_repeated_items_are_dropped() -> None:
    result = validate_findings(tool_input(good_lr(), good_lr()), WHOLE, LINE_COUNT)
    assert len(result.items) == 1 and result.dropped == {"duplicate": 1}


def test_replacement_carrying_a_redaction_marker_is_removed_but_the_finding_kept() -> None:
    item = good_lr(replacement='HF_TOKEN = "<redacted:huggingface_token>"')
    result = validate_findings(tool_input(item), WHOLE, LINE_COUNT)
    assert result.items[0].replacement is None and result.replacements_removed == 1


def test_line_number_prefixes_copied_from_the_snippets_are_stripped() -> None:
    item = good_lr(replacement="21 |     optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n")
    [validated] = validate_findings(tool_input(item), WHOLE, LINE_COUNT).items
    assert validated.replacement == "    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)"


LINES = TRAIN.split("\n")


def test_anchor_survives_lines_inserted_above_and_unrelated_edits() -> None:
    anchor = Anchor.at(LINES, LR_LINE - 1, LR_LINE - 1)
    moved = anchor.relocate(["# new", "# lines", *LINES])
    assert moved is not None and (moved.start, moved.end) == (LR_LINE + 1, LR_LINE + 1)
    unrelated = [line.replace("batch_size=8", "batch_size=16") for line in LINES]
    kept = anchor.relocate(unrelated)
    assert kept is not None and kept.start == LR_LINE - 1


def test_anchor_is_lost_when_the_cited_code_changes() -> None:
    anchor = Anchor.at(LINES, LR_LINE - 1, LR_LINE - 1)
    edited = [line.replace("lr=10.0", "lr=0.01") for line in LINES]
    assert anchor.relocate(edited) is None
    assert anchor.relocate([line for i, line in enumerate(LINES) if i != LR_LINE - 1]) is None


def test_anchor_prefers_the_occurrence_with_the_same_surroundings() -> None:
    lines = ["def a():", "    x = 1", "    step()", "", "", "def b():", "    y = 2", "    step()", "", ""]
    anchor = Anchor.at(lines, 7, 7)  # the `step()` of b
    # b moved above a: the nearest `step()` is a's, but only b's has the same surroundings
    shifted = ["def b():", "    y = 2", "    step()", "", "", "def a():", "    x = 1", "    step()", "", ""]
    moved = anchor.relocate(shifted)
    assert moved is not None and moved.start == 2


def test_codes_are_stable_and_not_rule_codes() -> None:
    code = agent_code("Learning rate too high")
    assert code == agent_code("  learning RATE, too high ") and code.startswith("AI") and len(code) == 5
    assert 1 <= int(code[2:]) <= 999


def _item(raw: dict) -> ReviewItem:
    return validate_findings(tool_input(raw), WHOLE, LINE_COUNT).items[0]


def test_rule_duplicates_need_overlapping_lines_and_the_same_topic() -> None:
    analysis = analyze(TRAIN, "train.py")
    duplicate = rule_duplicate(_item(duplicate_of_ml101()), analysis.findings, analysis.source)
    assert duplicate is not None and duplicate.code == "ML101"
    assert rule_duplicate(_item(good_lr()), analysis.findings, analysis.source) is None
    # same lines as ML101, another topic
    other = {**duplicate_of_ml101(), "title": "Loss is not averaged over the epoch", "explanation": "Report the mean."}
    assert rule_duplicate(_item(other), analysis.findings, analysis.source) is None
    # the model names the rule itself
    named = {**other, "rule_code": "ml101"}
    found = rule_duplicate(_item(named), analysis.findings, analysis.source)
    assert found is not None and found.code == "ML101"


def test_hourly_budget_refills_after_an_hour() -> None:
    now = [0.0]
    budget = HourlyBudget(2, clock=lambda: now[0])
    assert budget.try_spend() and budget.try_spend() and not budget.try_spend()
    assert budget.seconds_until_next() == 3600
    now[0] = 3599.0
    assert not budget.try_spend()
    now[0] = 3600.0
    assert budget.try_spend() and budget.remaining() == 1


def test_only_changed_functions_are_reported_as_changed() -> None:
    tracker = ChangeTracker()
    first = review_units(analyze(TRAIN, "train.py"))
    assert {u.name for u in first} == {"Net.__init__", "Net.forward", "train", "<module>"}
    assert len(tracker.changed("doc", first)) == 4
    tracker.mark_reviewed("doc", first)
    edited = TRAIN.replace("lr=10.0", "lr=0.1")
    assert [u.name for u in tracker.changed("doc", review_units(analyze(edited, "train.py")))] == ["train"]
    shifted = "# a comment\n\n" + TRAIN
    # moving every function down changes no unit: comments and blank lines do not count
    assert tracker.changed("doc", review_units(analyze(shifted, "train.py"))) == []
    imported = "import os\n" + TRAIN
    assert [u.name for u in tracker.changed("doc", review_units(analyze(imported, "train.py")))] == ["<module>"]


def test_review_settings_parse_nested_and_dotted_keys_and_warn_on_bad_values() -> None:
    assert ReviewSettings.from_section({}) == (ReviewSettings(False, 10), [])
    settings, warnings = ReviewSettings.from_section({"review": {"onSave": True}, "review.maxPerHour": 3})
    assert settings == ReviewSettings(True, 3) and warnings == []
    settings, warnings = ReviewSettings.from_section({"review": {"onSave": "yes", "maxPerHour": -1}})
    assert settings == ReviewSettings() and len(warnings) == 2
