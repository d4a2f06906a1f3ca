"""YAML as the dialplan, prompt and compliance-rule files are read: YAML 1.2 booleans, the
limits of ``safe_yaml`` (uploads come from users), and a map from each YAML path to its line
so a mistake can be reported where it is."""

from __future__ import annotations

from typing import Any

import yaml

from voicebot.dialog import safe_yaml
from voicebot.dialog.plan import DialplanError, Problem


def load_yaml(text: str) -> Any:
    """Parse YAML text safely, with YAML 1.2 booleans and the size limits of ``safe_yaml``
    (shared by dialplans, prompt files and compliance rules)."""
    return safe_yaml.load(text)


class LineIndex:
    """Maps a YAML path ("states.greeting.on[1].goto") to its line number."""

    def __init__(self, lines: dict[str, int]) -> None:
        self.lines = lines

    @classmethod
    def parse(cls, text: str, source: str) -> LineIndex:
        try:
            root = safe_yaml.compose(text)
            safe_yaml.load(text)  # values that cannot be built (an unhashable key) fail here too
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            raise DialplanError(
                source, [Problem("<yaml>", f"not valid YAML: {exc}", line)]
            ) from exc
        lines: dict[str, int] = {}
        seen: set[int] = set()

        def walk(node: yaml.Node | None, path: str) -> None:
            if node is None or id(node) in seen:  # an alias: its lines are the anchor's
                return
            seen.add(id(node))
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
