"""Name -> ML entities bound to it, classified on demand.

Classifying an assignment (`opt = torch.optim.AdamW(...)` is an optimizer) costs a few
microseconds of tree work, and a large file has thousands of assignments of which rules ask about
a handful of names. The table classifies the assignments of a name the first time that name is
looked up, and every assignment only once.

An assignment's classification may look up other names (`model = net.to(device)` asks what `net`
is). It must only see bindings made before it, as a single pass in document order would: lookups
carry a *horizon* (the start byte of the assignment being classified) and the table classifies and
returns only the bindings before it. Since every such lookup points strictly backwards, lazy
classification cannot recurse forever.
"""

from __future__ import annotations

import bisect
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

from tree_sitter import Node

if TYPE_CHECKING:
    from .model import Entity


class _Bindings:
    """Entities of one name (or one name in one scope), in document order, with their start bytes."""

    __slots__ = ("entities", "starts")

    def __init__(self) -> None:
        self.entities: list[Entity] = []
        self.starts: list[int] = []

    def add(self, entity: Entity) -> None:
        self.entities.append(entity)
        self.starts.append(entity.assignment.start_byte)

    def visible(self, horizon: int | None) -> int:
        """How many of the entities are bound before `horizon` (all of them without one)."""
        return len(self.entities) if horizon is None else bisect.bisect_left(self.starts, horizon)


_NONE = _Bindings()


class EntityTable(Mapping[str, list["Entity"]]):
    """Mapping interface over every entity (forces full classification); `visible` for lookups."""

    def __init__(
        self,
        assignments: dict[str, list[Node]],
        all_assignments: list[Node],
        scope_of_assignment: Callable[[Node], int],
        classify: Callable[[Node], list[Entity]],
    ) -> None:
        self._assignments = assignments  # dotted target name -> assignments binding it, in order
        self._all = all_assignments
        # The callables are the model's own methods: held weakly, so that the model and its table
        # are no reference cycle and are freed as soon as the last analysis result holding them goes.
        self._scope_of = weakref.WeakMethod(scope_of_assignment)
        self._classify = weakref.WeakMethod(classify)
        self._by_assignment: dict[int, list[Entity]] = {}
        self._done: dict[str, int] = {}  # name -> how many of its assignments are classified
        self._by_name: dict[str, _Bindings] = {}
        self._by_scope: dict[tuple[str, int], _Bindings] = {}
        self._everything: dict[str, list[Entity]] | None = None

    def _of_assignment(self, assign: Node) -> list[Entity]:
        found = self._by_assignment.get(assign.id)
        if found is None:
            classify = self._classify()
            found = self._by_assignment[assign.id] = classify(assign) if classify is not None else []
        return found

    def _ensure(self, name: str, horizon: int | None) -> None:
        assigns = self._assignments.get(name)
        if not assigns:
            return
        done = self._done.get(name, 0)
        while done < len(assigns) and (horizon is None or assigns[done].start_byte < horizon):
            assign = assigns[done]
            # Marked before classifying: a nested lookup of `name` (`x = x.to(d)`) has a horizon at
            # or before this assignment and must not classify it again.
            done += 1
            self._done[name] = done
            if done > 1 and assigns[done - 2].id == assign.id:
                continue  # `a, a = ...` lists the assignment twice
            for entity in self._of_assignment(assign):
                if entity.name == name:
                    self._by_name.setdefault(name, _Bindings()).add(entity)
                    scope_of = self._scope_of()
                    scope = scope_of(assign) if scope_of is not None else -1
                    self._by_scope.setdefault((name, scope), _Bindings()).add(entity)

    def visible(self, name: str, horizon: int | None = None) -> tuple[list[Entity], list[int], int]:
        """(entities, start bytes, count bound before `horizon`) of `name`, classified as needed."""
        self._ensure(name, horizon)
        bindings = self._by_name.get(name, _NONE)
        return bindings.entities, bindings.starts, bindings.visible(horizon)

    def visible_in_scope(self, name: str, scope_id: int, horizon: int | None = None) -> tuple[list[Entity], list[int], int]:
        """As `visible`, restricted to the bindings made in the scope `scope_id` (call `visible` first)."""
        bindings = self._by_scope.get((name, scope_id), _NONE)
        return bindings.entities, bindings.starts, bindings.visible(horizon)

    # --- Mapping: every entity, in the order a single pass over the assignments finds them -------

    def _all_entities(self) -> dict[str, list[Entity]]:
        if self._everything is None:
            everything: dict[str, list[Entity]] = {}
            for assign in self._all:
                for entity in self._of_assignment(assign):
                    everything.setdefault(entity.name, []).append(entity)
            self._everything = everything
        return self._everything

    def __getitem__(self, name: str) -> list[Entity]:
        entities, _starts, count = self.visible(name)
        if not count:
            raise KeyError(name)
        return entities

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.visible(name)[2] > 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._all_entities())

    def __len__(self) -> int:
        return len(self._all_entities())
