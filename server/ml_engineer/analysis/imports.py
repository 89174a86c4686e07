"""Import-alias resolution: what the user typed -> the fully qualified name rules match on."""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node

from .syntax import dotted_name, text

# Spellings of one API that rules should treat as the same name.
_CANONICAL_PREFIXES: tuple[tuple[str, str], ...] = (
    ("tensorflow.python.keras.", "keras."),
    ("tensorflow.keras.", "keras."),
    ("tf_keras.", "keras."),
    ("keras.api.", "keras."),
    ("pytorch_lightning.", "lightning.pytorch."),
)

# Frameworks whose first import anchors file-level findings (ML401) and marks a file as ML code.
FRAMEWORK_ROOTS = frozenset(
    {"torch", "tensorflow", "keras", "jax", "flax", "optax", "sklearn", "lightning", "pytorch_lightning",
     "transformers", "xgboost", "lightgbm", "catboost", "numpy", "pandas", "imblearn", "accelerate"}
)


def canonical(qualname: str) -> str:
    for prefix, replacement in _CANONICAL_PREFIXES:
        if qualname.startswith(prefix):
            return replacement + qualname[len(prefix) :]
    if qualname in ("tensorflow.keras", "tf_keras"):
        return "keras"
    return qualname


@dataclass
class ImportRecord:
    node: Node
    module: str  # the module imported from (or the module itself)
    local_name: str | None  # bound name; None for star imports


@dataclass
class ImportTable:
    """Local name -> qualified name, built from every import in the file (any scope)."""

    bindings: dict[str, str] = field(default_factory=dict)
    star_modules: list[str] = field(default_factory=list)
    records: list[ImportRecord] = field(default_factory=list)
    # Every dotted prefix of every imported module ("a", "a.b", "a.b.c"), and how many records it covers.
    _prefixes: tuple[int, frozenset[str]] = field(default=(-1, frozenset()), repr=False, compare=False)

    @classmethod
    def build(cls, import_nodes: list[Node]) -> ImportTable:
        table = cls()
        for node in import_nodes:
            if node.type == "import_statement":
                table._add_import(node)
            elif node.type == "import_from_statement":
                table._add_from_import(node)
        return table

    def _add_import(self, node: Node) -> None:
        for child in node.children_by_field_name("name"):
            if child.type == "aliased_import":
                module = text(child.child_by_field_name("name"))
                alias = text(child.child_by_field_name("alias"))
                self.bindings[alias] = module
                self.records.append(ImportRecord(node, module, alias))
            else:
                module = text(child)
                root = module.split(".")[0]
                # `import torch.nn` binds `torch`; attribute access resolves the rest.
                self.bindings.setdefault(root, root)
                self.records.append(ImportRecord(node, module, root))

    def _add_from_import(self, node: Node) -> None:
        module_node = node.child_by_field_name("module_name")
        module = text(module_node)
        if any(child.type == "wildcard_import" for child in node.named_children):
            self.star_modules.append(module)
            self.records.append(ImportRecord(node, module, None))
            return
        for child in node.children_by_field_name("name"):
            if child.type == "aliased_import":
                name = text(child.child_by_field_name("name"))
                local = text(child.child_by_field_name("alias"))
            else:
                name = text(child)
                local = name
            self.bindings[local] = f"{module}.{name}"
            self.records.append(ImportRecord(node, module, local))

    def resolve_dotted(self, dotted: str) -> str | None:
        head, _, rest = dotted.partition(".")
        target = self.bindings.get(head)
        if target is None:
            if not self.star_modules:
                return None
            # The last star import wins, as at run time; only a guess, but a useful one.
            target = f"{self.star_modules[-1]}.{head}"
        return canonical(f"{target}.{rest}" if rest else target)

    def resolve(self, node: Node | None) -> str | None:
        """Qualified name of an identifier/attribute chain (or of a call's callee)."""
        if node is None:
            return None
        if node.type == "call":
            node = node.child_by_field_name("function")
        dotted = dotted_name(node)
        if dotted is None:
            return None
        return self.resolve_dotted(dotted)

    def imports_module(self, root: str) -> bool:
        """Is `root` an imported module or a package of one (`torch` for `import torch.nn`)?"""
        # `module == root or module.startswith(root + ".")` for some record, as a set lookup:
        # rules ask per candidate call.
        count, prefixes = self._prefixes
        if count != len(self.records):
            found: set[str] = set()
            for record in self.records:
                parts = record.module.split(".")
                found.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
            count, prefixes = self._prefixes = (len(self.records), frozenset(found))
        return root in prefixes

    def first_import_of(self, roots: frozenset[str] | set[str]) -> Node | None:
        for record in self.records:
            if record.module.split(".")[0] in roots:
                return record.node
        return None
