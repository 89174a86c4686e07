"""ML304 train-loader-not-shuffled."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from .. import known_apis as apis
from ..findings import Edit, Finding, Fix
from ..model import SemanticModel, split_of_name
from ..syntax import (
    call_arguments,
    dotted_name,
    keyword_argument_node,
    keyword_arguments,
    string_value,
    text,
    unwrap,
)
from ._dataflow import assignment_of, identifiers_in
from .base import Rule, RuleContext, make_fix

_TIME_SERIES = re.compile(r"time.?series|forecast|temporal|chronolog|lookback|sliding.?window|seq_len|stateful", re.IGNORECASE)
_MARKER = re.compile(r"(expect:|noqa|type:|pragma|fmt:|pylint:|ruff:|pyright:)", re.IGNORECASE)
_ITERABLE_HINTS = re.compile(r"Iterable|WebDataset|webdataset|wds\.|streaming\s*=\s*True|to_iterable_dataset|IterDataPipe|\.shuffle\(")


class TrainLoaderNotShuffled(Rule):
    """## What it does
    Flags a training `DataLoader` (recognised by its name, its dataset's name, the
    `train_dataloader` hook that returns it, or a training loop that iterates it) built without
    `shuffle=True`, a `sampler` or a `batch_sampler`.

    ## Why is this bad?
    Without shuffling, every epoch sees the batches in the same order, usually the order of the
    files on disk, which is often sorted by class, date or source. Batches are then far from
    representative, gradient steps are correlated, batch-norm statistics drift, and the model can
    end up fitted to whatever came last. Shuffling each epoch is the assumption behind SGD.

    Not reported: loaders over iterable/streaming datasets (they cannot be shuffled by the
    loader), loaders with a sampler (distributed, weighted, bucketed), loaders built with
    `**kwargs` or whose `shuffle` comes from a variable or a caller, validation/test loaders, and an
    explicit `shuffle=False` with a comment next to it or in a time-series script.

    ## Example
    ```python
    train_loader = DataLoader(train_ds, batch_size=64)
    ```

    ## Use instead
    ```python
    train_loader = DataLoader(train_ds, batch_size=64, shuffle=True)
    ```

    ## Fix safety
    The fix adds `shuffle=True` (or turns `shuffle=False` into `shuffle=True`). It is unsafe: the
    batch order, and so the trained weights, change.

    ## References
    - https://pytorch.org/docs/stable/data.html#torch.utils.data.DataLoader
    - https://pytorch.org/docs/stable/data.html#data-loading-order-and-sampler
    """

    code = "ML304"
    name = "train-loader-not-shuffled"
    severity = "warning"
    summary = "Training DataLoader without shuffle=True or a sampler"
    fix_availability = "always"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        loaders = model.calls_to(apis.LOADER_NAMES)
        if not loaders:
            return
        trained_names: set[str] | None = None
        for call in loaders:
            arguments = _read_arguments(call)
            if arguments is None:
                continue  # `*args` / `**kwargs`: the loader's options are not visible
            positional, kwargs = arguments
            if any(k in kwargs for k in ("sampler", "batch_sampler")) or len(positional) > 3:
                continue
            shuffle = kwargs.get("shuffle") or (positional[2] if len(positional) > 2 else None)
            if shuffle is not None and shuffle.type != "false":
                continue  # True, or decided by a variable / the caller
            if shuffle is not None and self._explained(ctx, call):
                continue
            dataset = positional[0] if positional else kwargs.get("dataset")
            if dataset is None:
                continue
            split = _declared_split(model, call, dataset)
            # A declared validation/test loader is skipped before its dataset's value is looked up.
            if (split is not None and split != "train") or self._iterable_dataset(model, dataset):
                continue
            if split is None:
                if trained_names is None:
                    trained_names = _names_iterated_by_training(model)
                assign = assignment_of(call)
                target = dotted_name(assign.child_by_field_name("left")) if assign is not None else None
                split = "train" if target is not None and target in trained_names else None
            if split != "train":
                continue
            state = "`shuffle=False`" if shuffle is not None else "no `shuffle=True` or sampler"
            yield self.finding(
                call,
                f"training DataLoader over `{_short(dataset)}` has {state}: every epoch sees the batches in "
                "the same order; pass `shuffle=True` (or a sampler)",
                fix=_fix(call, shuffle),
            )

    @staticmethod
    def _explained(ctx: RuleContext, call: Node) -> bool:
        """An explicit `shuffle=False` with a comment nearby, or in a time-series script, is deliberate."""
        rows = range(call.start_point.row, call.end_point.row + 1)
        for row in rows:
            if _explaining_comment(ctx.source.line(row)):
                return True
        above = ctx.source.line(call.start_point.row - 1) if call.start_point.row > 0 else ""
        if above.lstrip().startswith("#") and _explaining_comment(above):
            return True
        return bool(_TIME_SERIES.search(ctx.source.text))

    @staticmethod
    def _iterable_dataset(model: SemanticModel, dataset: Node) -> bool:
        value = unwrap(dataset)
        name = dotted_name(value) if value is not None else None
        if name is not None:
            value = unwrap(model.value_of(name, dataset)) or value
        if value is None:
            return False
        if _ITERABLE_HINTS.search(text(value)):
            return True
        if value.type == "call":
            func = value.child_by_field_name("function")
            local = model.classes.get(text(func)) if func is not None else None
            if local is not None:
                return _inherits_iterable(model, local.name, set())
        return False


def _read_arguments(call: Node) -> tuple[list[Node], dict[str, Node]] | None:
    """`(call_arguments(call), keyword_arguments(call))` in one pass over the arguments, None when
    `has_splat_arguments(call)`."""
    args = call.child_by_field_name("arguments")
    if args is None:
        return [], {}
    positional: list[Node] = []
    kwargs: dict[str, Node] = {}
    is_list = args.type == "argument_list"
    for child in args.named_children:
        kind = child.type
        if kind in ("list_splat", "dictionary_splat"):
            return None
        if kind == "keyword_argument":
            name = child.child_by_field_name("name")
            value = child.child_by_field_name("value")
            if name is not None and value is not None:
                kwargs[text(name)] = value
        elif is_list and kind != "comment":
            positional.append(child)
    return positional, kwargs


def _explaining_comment(line: str) -> bool:
    """A comment that says something (not a lint/test marker such as `# noqa` or `# type:`)."""
    position = line.find("#")
    if position < 0:
        return False
    comment = line[position + 1 :].strip()
    return bool(comment) and not _MARKER.match(comment)


def _inherits_iterable(model: SemanticModel, class_name: str, seen: set[str]) -> bool:
    info = model.classes.get(class_name)
    if info is None or class_name in seen:
        return False
    seen.add(class_name)
    for base in info.bases:
        if base.endswith(("IterableDataset", "IterDataPipe")):
            return True
        if _inherits_iterable(model, base, seen):
            return True
    return False


def _declared_split(model: SemanticModel, call: Node, dataset: Node) -> str | None:
    """Split from the loader's name, a dict key, its dataset's name, or the hook that returns it."""
    assign = assignment_of(call)
    if assign is not None:
        target = dotted_name(assign.child_by_field_name("left"))
        split = split_of_name(target) if target is not None else None
        if split is not None:
            return split
    parent = call.parent
    if parent is not None and parent.type == "pair":
        key = string_value(parent.child_by_field_name("key"))
        split = split_of_name(key) if key is not None else None
        if split is not None:
            return split
    dataset_name = dotted_name(unwrap(dataset))
    if dataset_name is None and dataset.type == "subscript":
        key = string_value(dataset.child_by_field_name("subscript"))
        dataset_name = key or dotted_name(dataset.child_by_field_name("value"))
    split = split_of_name(dataset_name) if dataset_name is not None else None
    if split is not None:
        return split
    function = model.enclosing_function(call)
    return split_of_name(function.name) if function is not None else None


def _names_iterated_by_training(model: SemanticModel) -> set[str]:
    """Loader names a training loop iterates, mapped through same-file helper parameters to call sites."""
    names: set[str] = set()
    for loop in model.training_loops:
        if loop.node.type != "for_statement":
            continue
        iterated = identifiers_in(loop.node.child_by_field_name("right"))
        names |= iterated
        function = loop.function
        if function is None:
            continue
        for index, param in enumerate(function.params):
            if param not in iterated:
                continue
            position = index - (1 if function.owner is not None and function.params[:1] in (["self"], ["cls"]) else 0)
            for call in model.local_function_calls():
                if model.resolve_local_function(call) is not function:
                    continue
                arg = keyword_arguments(call).get(param)
                positional = call_arguments(call)
                if arg is None and 0 <= position < len(positional):
                    arg = positional[position]
                if arg is not None:
                    names |= identifiers_in(arg)
                    dotted = dotted_name(arg)
                    if dotted is not None:
                        names.add(dotted)
    return names


def _fix(call: Node, shuffle: Node | None) -> Fix | None:
    if shuffle is not None:
        return make_fix("Set `shuffle=True`", Edit(shuffle.start_byte, shuffle.end_byte, "True"), safe=False)
    args = call.child_by_field_name("arguments")
    if args is None or args.child_count < 2 or keyword_argument_node(call, "shuffle") is not None:
        return None
    closing = args.children[-1]
    before = args.children[-2]
    new_text = " shuffle=True" if before.type == "," else ", shuffle=True"
    return make_fix("Add `shuffle=True`", Edit(closing.start_byte, closing.start_byte, new_text), safe=False)


def _short(node: Node) -> str:
    value = text(node)
    return value if len(value) <= 40 else value[:37] + "..."
