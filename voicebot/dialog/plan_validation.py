"""The running state of one dialplan's validation, shared by the focused validators.

Validators collect problems instead of stopping, so ``voicebot dialplan check`` reports every
mistake at once; later checks read the names earlier ones learned (states, prompts, settings,
slots).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voicebot.dialog.plan import BUILTIN_SLOTS, Problem
from voicebot.dialog.yaml_loading import LineIndex


@dataclass(slots=True)
class Validation:
    lines: LineIndex
    problems: list[Problem] = field(default_factory=list)
    state_names: set[str] = field(default_factory=set)
    prompt_keys: set[str] = field(default_factory=set)
    settings: dict[str, bool | int | str] = field(default_factory=dict)
    slots_written: set[str] = field(default_factory=lambda: set(BUILTIN_SLOTS))
    slot_reads: list[tuple[str, str]] = field(default_factory=list)  # (slot, YAML path)

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message, self.lines.line(path)))
