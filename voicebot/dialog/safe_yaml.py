"""YAML from users (uploaded dialplans and prompt files) parsed with hard limits.

PyYAML's safe loader still lets a few hundred bytes of aliases expand into
billions of nodes for whoever walks the result, lets nesting exhaust the
interpreter's recursion, and turns tags such as ``!!binary``, ``!!set`` or an
invalid ``!!timestamp`` into values (or exceptions) nothing downstream expects.
Here every document is composed with a depth limit, its size with aliases
expanded is bounded before anything walks it, and only the tags of plain data
(mappings, sequences, strings, numbers, booleans, null) are accepted. Booleans
are YAML 1.2's (``true``/``false`` only): YAML 1.1 would read a debtor's "no"
or a key ``on:`` as a boolean.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

MAX_DEPTH = 40
"""Nesting levels (a dialplan needs about 8)."""
MAX_NODES = 200_000
"""Nodes with every alias expanded (the shipped dialplan and prompts have a few thousand)."""
MAX_ALIASES = 1_000

_PLAIN_TAGS = frozenset(
    "tag:yaml.org,2002:" + name
    for name in ("str", "int", "float", "bool", "null", "map", "seq", "merge")
)


class UnsafeYaml(yaml.YAMLError):
    """A document refused for its shape (too deep, too large, unsupported tag), with its line."""

    def __init__(self, message: str, mark: yaml.Mark | None = None) -> None:
        super().__init__(message)
        self.problem_mark = mark

    def __str__(self) -> str:
        where = f" (line {self.problem_mark.line + 1})" if self.problem_mark is not None else ""
        return f"{self.args[0]}{where}"


class _Loader(yaml.SafeLoader):
    """Safe loader that counts depth and aliases while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def _mark(self) -> yaml.Mark | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        return getattr(event, "start_mark", None)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise UnsafeYaml(f"more than {MAX_ALIASES} aliases", self._mark())
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise UnsafeYaml(f"nested deeper than {MAX_DEPTH} levels", self._mark())
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is not None and node.tag not in _PLAIN_TAGS:
            raise UnsafeYaml(f"unsupported tag {node.tag!r}", node.start_mark)
        return node


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _check_size(root: yaml.Node | None) -> None:
    """Count nodes as a walker that follows aliases would see them, without walking them."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        if total > MAX_NODES:
            raise UnsafeYaml(
                f"more than {MAX_NODES} nodes once aliases are expanded", node.start_mark
            )
        sizes[id(node)] = total
        return total

    if root is not None:
        size(root)


def compose(text: str) -> yaml.Node | None:
    """The node tree of one document; raises ``yaml.YAMLError`` (``UnsafeYaml`` for the limits)."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    _check_size(root)
    return root


def load(text: str) -> Any:
    """Plain data (dict, list, str, int, float, bool, None) of one document, within the limits."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        _check_size(root)
        if root is None:
            return None
        try:
            return loader.construct_document(root)
        except (ValueError, TypeError, OverflowError) as exc:  # e.g. an unhashable key
            raise UnsafeYaml(f"cannot read a value: {exc}", root.start_mark) from exc
    finally:
        loader.dispose()
