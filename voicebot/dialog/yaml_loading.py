"""YAML as the dialplan, prompt and compliance-rule files are read: YAML 1.2 booleans, and a map
from each YAML path to its line so a mistake can be reported where it is."""

from __future__ import annotations

import re
from typing import Any

import yaml

from voicebot.dialog.plan import DialplanError, Problem


class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false. YAML 1.1 would read `on:` and a debtor's "no" as booleans."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(text: str) -> Any:
    """Parse YAML text with YAML 1.2 booleans (shared by dialplans and prompt files)."""
    return yaml.load(text, Loader=_Yaml12Loader)


class LineIndex:
    """Maps a YAML path ("states.greeting.on[1].goto") to its line number."""

    def __init__(self, lines: dict[str, int]) -> None:
        self.lines = lines

    @classmethod
    def parse(cls, text: str, source: str) -> LineIndex:
        try:
            root = yaml.compose(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            raise DialplanError(
                source, [Problem("<yaml>", f"not valid YAML: {exc}", line)]
            ) from exc
        lines: dict[str, int] = {}

        def walk(node: yaml.Node | None, path: str) -> None:
            if node is None:
                return
            lines[path] = node.start_mark.line + 1
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    child = f"{path}.{key.value}" if path else str(key.value)
                    lines[child] = key.start_mark.line + 1
                    walk(value, child)
                    lines[child] = key.start_mark.line + 1
            elif isinstance(node, yaml.SequenceNode):
                for i, item in enumerate(node.value):
                    walk(item, f"{path}[{i}]")

        walk(root, "")
        return cls(lines)

    def line(self, path: str) -> int | None:
        """The line of ``path``, or of its nearest ancestor the YAML has (a missing key's parent)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            if cut <= 0:
                return None
            path = path[:cut]
        return None
