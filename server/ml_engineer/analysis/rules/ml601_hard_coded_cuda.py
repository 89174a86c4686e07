"""ML601 hard-coded-cuda."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from ..findings import Finding
from ..model import SemanticModel
from ..source import Span
from ..syntax import (
    ancestors,
    assignment_targets,
    assignment_value,
    call_arguments,
    call_receiver,
    dotted_name,
    enclosing_scope,
    keyword_arguments,
    string_value,
    text,
)
from .base import Rule, RuleContext

# A condition that decides the device: `torch.cuda.is_available()`, `use_cuda`, `args.gpu`, `device.type == "cuda"`.
_GUARD = re.compile(r"is_available|device_count|cuda|gpu|device|mps|accelerator", re.IGNORECASE)
_DEVICE_CALLS = frozenset({"torch.device", "torch.set_default_device", "torch.cuda.device"})
_MAX_RELATED = 10
_CONFIG_CONTAINERS = frozenset({
    "types.SimpleNamespace", "argparse.Namespace", "easydict.EasyDict", "omegaconf.OmegaConf.create",
    "ml_collections.ConfigDict", "ml_collections.config_dict.ConfigDict",
})
# Where a site's `cuda` can be: the method name of `.cuda()` or the start of a `"cuda"` / `"cuda:0"`
# string. Neither is followed by a dot, which skips `torch.cuda.is_available()`, `torch.cuda.amp`, ...
# (`torch.cuda.device("cuda:0")` is found from its string argument, like every device call.)
_CUDA_TEXT = re.compile(rb"cuda(?!\.)")


class HardCodedCuda(Rule):
    """## What it does
    Flags code that puts work on the GPU unconditionally: `.cuda()`, `.to("cuda")`,
    `torch.device("cuda")`, `device="cuda"` arguments and `device = "cuda"` assignments, with no
    `torch.cuda.is_available()` check or configurable device deciding it. One finding is reported
    per file, at the first such place, with the others listed as related locations.

    ## Why is this bad?
    The script crashes with "Torch not compiled with CUDA enabled" or "no CUDA GPUs are available"
    on a laptop, in CI, on Apple silicon or on a CPU-only node, even though everything in it could
    run there. Choosing the device once, from availability or from configuration, keeps one code
    path for every machine.

    Not reported: a site inside an `if`/conditional expression that tests availability or a
    device/GPU setting (`if torch.cuda.is_available():`, `if args.cuda:`,
    `x.cuda() if use_gpu else x`), or a variable computed from such a test (`ok = torch.cuda.is_available()`
    then `if ok:`); a device taken from configuration (an argparse option, a config dict, `dict(...)`
    or class, an environment variable, a function parameter, even with a `"cuda"` default);
    devices computed from a rank (`torch.device("cuda", local_rank)`, `.cuda(args.gpu)`,
    `f"cuda:{rank}"`); and files that clearly require a GPU (they call `torch.cuda.set_device`,
    start an NCCL process group, or assert/raise when CUDA is unavailable).

    ## Example
    ```python
    model = Net().cuda()
    for x, y in loader:
        x, y = x.cuda(), y.cuda()
    ```

    ## Use instead
    ```python
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = Net().to(device)
    for x, y in loader:
        x, y = x.to(device), y.to(device)
    ```

    ## Fix safety
    No automatic fix: the device variable has to be introduced once and threaded through.

    ## References
    - https://pytorch.org/docs/stable/notes/cuda.html#best-practices
    - https://pytorch.org/docs/stable/tensor_attributes.html#torch-device
    """

    code = "ML601"
    name = "hard-coded-cuda"
    severity = "info"
    summary = "GPU device hard-coded with no availability check or configuration"
    fix_availability = "never"

    def check(self, ctx: RuleContext) -> Iterator[Finding]:
        model = ctx.model
        if not model.uses_framework("torch") or _requires_gpu(model):
            return
        sites = [site for site in _sites(model) if not _guarded(model, site)]
        if not sites:
            return
        first = sites[0]
        more = len(sites) - 1
        extra = f" ({more} more place{'s' if more != 1 else ''} in this file)" if more else ""
        yield self.finding(
            first,
            f"`{_short(first)}` hard-codes the CUDA device{extra}: the script fails on machines without a GPU; "
            'pick the device once, e.g. `torch.device("cuda" if torch.cuda.is_available() else "cpu")`, '
            "or take it from configuration",
            related=[ctx.related(site, "also hard-codes CUDA") for site in sites[1 : 1 + _MAX_RELATED]],
            span=_method_span(first),
        )


def _is_cuda_literal(node: Node | None) -> bool:
    value = string_value(node)
    return value is not None and (value == "cuda" or value.startswith("cuda:"))


def _candidates(model: SemanticModel) -> tuple[list[Node], list[Node]]:
    """Calls and assignments around each `cuda` in the source text (document order, outer calls first).

    Every site has `cuda` as its method name (`.cuda()`) or at the start of a string argument or
    value, and that call or assignment is the first one above the text: looking there skips the
    thousands of other calls.
    The climb stops at the first call: an assignment site's value *is* the `"cuda"` string, whose
    own text reaches the assignment without passing a call (each `Node.parent` costs a walk down
    from the root, so the assignments above calls are not worth collecting).
    """
    calls: dict[int, Node] = {}
    assigns: dict[int, Node] = {}
    root = model.root
    for match in _CUDA_TEXT.finditer(model.source.data):
        node = root.descendant_for_byte_range(match.start(), match.end())
        if node is not None and node.type == "string_content":
            node = _literal_holder(node)
        found_assign = False
        while node is not None and node.type not in ("block", "module"):
            if node.type == "call":
                calls[node.id] = node
                break
            if node.type == "assignment" and not found_assign:
                assigns[node.id] = node
                found_assign = True
            node = node.parent
    return sorted(calls.values(), key=_outer_first), sorted(assigns.values(), key=_outer_first)


def _literal_holder(content: Node) -> Node | None:
    """Where the climb from a string holding `cuda` goes on: the node around the string when the
    string can make a site, None when it cannot.

    A device string counts only as a call's positional argument, its `device=` / `type=` argument
    or an assignment's value. Inside `"cuda" if ok else "cpu"`, a list or `device_type="cuda"`
    it makes no site; a call above it is a site only through its own `cuda` text, found by its
    own climb.
    """
    string = content.parent
    holder = string.parent if string is not None else None
    if holder is None:
        return content
    if holder.type in ("argument_list", "assignment"):
        return holder
    if holder.type == "keyword_argument" and text(holder.child_by_field_name("name")) in ("device", "type"):
        return holder
    return None


def _outer_first(node: Node) -> tuple[int, int]:
    return node.start_byte, -node.end_byte


def _sites(model: SemanticModel) -> list[Node]:
    sites: list[Node] = []
    candidate_calls, candidate_assigns = _candidates(model)
    data = model.source.data
    for call in candidate_calls:
        method = model.method_name(call)
        qual = model.qualname(call)
        if qual in _DEVICE_CALLS:
            positional = call_arguments(call)
            kwargs = keyword_arguments(call)
            first = positional[0] if positional else kwargs.get("type") or kwargs.get("device")
            index = positional[1] if len(positional) > 1 else kwargs.get("index")
            if _is_cuda_literal(first) and (index is None or index.type == "integer"):
                sites.append(call)
            continue
        if method == "cuda" and call_receiver(call) is not None and qual != "torch.cuda":
            device = _first_or_device(call)
            if device is None or device.type == "integer":
                sites.append(call)
            continue
        if method == "to" and call_receiver(call) is not None:
            if _is_cuda_literal(_first_or_device(call)):
                sites.append(call)
            continue
        # A `device=` keyword is spelt in the call's text: most candidates (`torch.cuda.is_available()`) lack it.
        if data.find(b"device", call.start_byte, call.end_byte) == -1:
            continue
        if _is_cuda_literal(keyword_arguments(call).get("device")) and not _is_config(model, call):
            sites.append(call)
    for assign in candidate_assigns:
        targets = assignment_targets(assign)
        value = assignment_value(assign)
        if len(targets) != 1 or targets[0].type not in ("identifier", "attribute") or not _is_cuda_literal(value):
            continue
        if "device" not in text(targets[0]).lower() or enclosing_scope(assign).type == "class_definition":
            continue
        sites.append(assign)
    sites.sort(key=lambda node: node.start_byte)
    return sites


def _first_or_device(call: Node) -> Node | None:
    """The device argument of `x.cuda(...)` / `x.to(...)`: the first positional one, else `device=`."""
    positional = call_arguments(call)
    return positional[0] if positional else keyword_arguments(call).get("device")


def _guarded(model: SemanticModel, site: Node) -> bool:
    for parent in ancestors(site):
        if parent.type in ("if_statement", "elif_clause", "while_statement", "conditional_expression"):
            condition = parent.child_by_field_name("condition")
            if parent.type == "conditional_expression":
                named = parent.named_children
                condition = named[1] if len(named) > 1 else None
            if condition is not None and (_GUARD.search(text(condition)) or _guard_variable(model, condition)):
                return True
        elif parent.type == "try_statement":
            return True  # `try: x.cuda() except ...:` handles the CPU case itself
    return False


def _is_config(model: SemanticModel, call: Node) -> bool:
    """`dict(device="cuda")`, `Config(device="cuda")` of a same-file dataclass, `SimpleNamespace(...)`:
    a configuration value that a run can override, not a device hard-coded in a call."""
    func = call.child_by_field_name("function")
    callee = text(func) if func is not None else ""
    if callee == "dict" or model.qualname(call) in _CONFIG_CONTAINERS:
        return True
    local = model.classes.get(callee)
    return local is not None and not local.is_model


def _guard_variable(model: SemanticModel, condition: Node) -> bool:
    """`use_accel = not args.no_accel and torch.cuda.is_available()` ... `if use_accel:`."""
    stack = [condition]
    while stack:
        node = stack.pop()
        if node.type in ("identifier", "attribute"):
            name = dotted_name(node)
            value = model.value_of(name, condition) if name is not None else None
            if value is not None and _GUARD.search(text(value)):
                return True
        elif node.type != "call":
            stack.extend(node.named_children)
    return False


def _requires_gpu(model: SemanticModel) -> bool:
    """Files that state they need CUDA: DDP on NCCL, `set_device`, or an explicit availability check that exits."""
    data = model.source.data
    calls = model.calls  # a qualified name ending in init_process_group is spelt in an import or a call
    if b"init_process_group" not in data:
        # An availability check counts only under an `assert` or an `if` whose body raises or exits:
        # without those words in the file, only `set_device` can answer.
        exits = b"assert" in data or b"raise" in data or b"exit(" in data
        calls = model.calls_to(("torch.cuda.set_device", "torch.cuda.is_available") if exits else ("torch.cuda.set_device",))
    for call in calls:
        qual = model.qualname(call) or ""
        if qual in ("torch.cuda.set_device",):
            return True
        if qual.endswith("init_process_group") and "nccl" in text(call):
            return True
        if qual == "torch.cuda.is_available":
            for parent in ancestors(call):
                if parent.type == "assert_statement":
                    return True
                if parent.type == "if_statement":
                    body = parent.child_by_field_name("consequence")
                    body_text = text(body) if body is not None else ""
                    if "raise" in body_text or "exit(" in body_text:
                        return True
                    break
                if parent.type in ("expression_statement", "function_definition", "module"):
                    break
    return False


def _moved_method(node: Node) -> Node | None:
    """The `cuda` / `to` name of a `<multi-line receiver>.cuda()` site, where the call's own start misleads."""
    func = node.child_by_field_name("function") if node.type == "call" else None
    if func is None or func.type != "attribute" or func.start_point.row == func.end_point.row:
        return None
    return func.child_by_field_name("attribute")


def _method_span(node: Node) -> Span | None:
    method = _moved_method(node)
    return Span(method.start_byte, node.end_byte) if method is not None else None


def _short(node: Node) -> str:
    method = _moved_method(node)
    if method is not None:
        return "." + text(node)[method.start_byte - node.start_byte :]
    value = text(node).split("\n", 1)[0]
    return value if len(value) <= 50 else value[:47] + "..."
