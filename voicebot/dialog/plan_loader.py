"""Loading a dialplan: YAML in, a validated ``Dialplan`` out, or ``DialplanError`` listing every
mistake with its YAML path and line.

This module reads the files and validates the plan's top level (name, settings, defaults, the
start state); ``plan_states`` validates each state, ``plan_values`` the leaves,
``prompt_file`` the prompts and ``plan_graph`` the whole graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicebot.dialog.plan import (
    SETTING_TYPES,
    Dialplan,
    DialplanError,
    Problem,
    Prompt,
    State,
    Transition,
)
from voicebot.dialog.plan_graph import check_graph, reachable
from voicebot.dialog.plan_groups import check_held_claims, read_groups, with_groups
from voicebot.dialog.plan_include import Included, prune_unreached, read_include
from voicebot.dialog.plan_states import read_state, read_transitions
from voicebot.dialog.plan_validation import Validation
from voicebot.dialog.plan_values import read_positive_int, read_prompt_key
from voicebot.dialog.prompt_file import read_prompts
from voicebot.dialog.yaml_loading import LineIndex, load_yaml

TOP_LEVEL_KEYS = (
    "include",
    "name",
    "language",
    "prompts",
    "start",
    "settings",
    "defaults",
    "groups",
    "states",
)
DEFAULTS_KEYS = (
    "listen",
    "max_no_input",
    "max_no_match",
    "no_input_prompt",
    "no_match_prompt",
    "on",
)


def load_dialplan(path: str | Path, *, prompts_path: str | Path | None = None) -> Dialplan:
    """Load and validate a dialplan file; raises ``DialplanError`` listing every mistake."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DialplanError(source, [Problem("<file>", f"cannot read: {exc.strerror}")]) from exc
    return parse_dialplan(text, source=source, base_dir=path.parent, prompts_path=prompts_path)


def parse_dialplan(
    text: str,
    *,
    source: str = "<dialplan>",
    base_dir: Path | None = None,
    prompts_path: str | Path | None = None,
    prompts_text: str | None = None,
) -> Dialplan:
    """Validate dialplan text; the prompts come from ``prompts_text``, else from a file."""
    lines = LineIndex.parse(text, source)
    data = load_yaml(text)
    if not isinstance(data, dict):
        raise DialplanError(source, [Problem("<root>", "a dialplan is a mapping with `states`")])
    v = Validation(lines)
    prompts_source = ""
    included = read_include(v, data, base_dir)
    if prompts_text is None:
        prompts_text, prompts_source = _read_prompts_file(v, data, base_dir, prompts_path)
    prompts = read_prompts(v, prompts_text, prompts_source)
    if included is not None:
        # The including plan's prompts replace the included plan's of the same key.
        base_prompts = read_prompts(v, included.prompts_text, included.prompts_source)
        prompts = {**base_prompts, **prompts}
        data = included.data
    plan = _read_plan(v, data, prompts, source, prompts_source, included)
    if v.problems:
        raise DialplanError(source, sorted(v.problems, key=lambda p: (p.line or 0, p.path)))
    assert plan is not None
    return plan


def _read_prompts_file(
    v: Validation, data: dict[str, Any], base_dir: Path | None, prompts_path: str | Path | None
) -> tuple[str, str]:
    """(text, source) of the prompts file: ``prompts_path`` if given, else the plan's
    ``prompts:`` relative to the plan's folder. Unreadable → a problem and no prompts."""
    ref = prompts_path if prompts_path is not None else data.get("prompts")
    if not isinstance(ref, str | Path) or not str(ref):
        v.problem("prompts", "missing: the path of the prompts file")
        return "", ""
    prompt_file = Path(ref)
    if not prompt_file.is_absolute() and prompts_path is None:
        prompt_file = (base_dir or Path.cwd()) / prompt_file
    try:
        return prompt_file.read_text(encoding="utf-8"), str(prompt_file)
    except OSError as exc:
        v.problem("prompts", f"cannot read prompts file {prompt_file}: {exc.strerror}")
        return "", str(prompt_file)


@dataclass(frozen=True, slots=True)
class _Defaults:
    """What ``defaults:`` gives every state: listening settings, transitions, retry limits."""

    listen: dict[str, Any]
    on: tuple[Transition, ...]
    max_no_input: int
    max_no_match: int
    no_input_prompt: str | None
    no_match_prompt: str | None


def _read_plan(
    v: Validation,
    data: dict[str, Any],
    prompts: dict[str, Prompt],
    source: str,
    prompts_source: str,
    included: Included | None = None,
) -> Dialplan | None:
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            v.problem(
                str(key), f"unknown key (expected one of {', '.join(sorted(TOP_LEVEL_KEYS))})"
            )
    name = data.get("name")
    if not isinstance(name, str) or not name:
        v.problem("name", "missing or not a string")
        name = "?"
    language = str(data.get("language", "es"))
    v.settings = _read_settings(v, data.get("settings") or {})
    states_data = data.get("states")
    if not isinstance(states_data, dict) or not states_data:
        v.problem("states", "missing: a dialplan needs at least one state")
        return None
    v.state_names = set(map(str, states_data))
    v.prompt_keys = set(prompts)
    defaults = _read_defaults(v, data.get("defaults") or {})
    states = _read_states(v, states_data, defaults.listen)
    groups = read_groups(v, data.get("groups"), states)
    states = with_groups(states, groups)
    check_held_claims(v, states, groups)
    start = data.get("start")
    if not isinstance(start, str) or start not in v.state_names:
        v.problem("start", f"unknown state {start!r}" if start else "missing")
        start = next(iter(v.state_names))
    for slot, path in v.slot_reads:
        if slot not in v.slots_written:
            v.problem(path, f"slot.{slot} is read but never set (no `set`/`increment` of it)")
    plan = Dialplan(
        name=name,
        language=language,
        start=start,
        states=states,
        prompts=prompts,
        settings=v.settings,
        default_on=defaults.on,
        max_no_input=defaults.max_no_input,
        max_no_match=defaults.max_no_match,
        no_input_prompt=defaults.no_input_prompt,
        no_match_prompt=defaults.no_match_prompt,
        source=source,
        prompts_source=prompts_source,
        groups=groups,
    )
    if included is not None:
        plan = prune_unreached(plan, included.states, reachable(plan))
    check_graph(v, plan, {t.event for t in defaults.on if t.event})
    return plan


def _read_settings(v: Validation, raw: Any) -> dict[str, bool | int | str]:
    if not isinstance(raw, dict):
        v.problem("settings", "expected a mapping of name → value")
        return {}
    for key, value in raw.items():
        if not isinstance(value, SETTING_TYPES):
            v.problem(f"settings.{key}", "a setting is a boolean, a number or a string")
    return {str(k): value for k, value in raw.items() if isinstance(value, SETTING_TYPES)}


def _read_defaults(v: Validation, raw: Any) -> _Defaults:
    if not isinstance(raw, dict):
        v.problem("defaults", "expected a mapping")
        raw = {}
    for key in raw:
        if key not in DEFAULTS_KEYS:
            v.problem(f"defaults.{key}", "unknown key")
    return _Defaults(
        listen=raw.get("listen") or {},
        on=read_transitions(v, raw.get("on") or [], "defaults.on"),
        max_no_input=read_positive_int(v, raw.get("max_no_input", 3), "defaults.max_no_input"),
        max_no_match=read_positive_int(v, raw.get("max_no_match", 3), "defaults.max_no_match"),
        no_input_prompt=read_prompt_key(v, raw.get("no_input_prompt"), "defaults.no_input_prompt"),
        no_match_prompt=read_prompt_key(v, raw.get("no_match_prompt"), "defaults.no_match_prompt"),
    )


def _read_states(
    v: Validation, states_data: dict[Any, Any], default_listen: dict[str, Any]
) -> dict[str, State]:
    states: dict[str, State] = {}
    for raw_name, raw in states_data.items():
        state_name = str(raw_name)
        path = f"states.{state_name}"
        if not isinstance(raw, dict):
            v.problem(path, "a state is a mapping (say / listen / on / next / end ...)")
            continue
        states[state_name] = read_state(v, state_name, raw, path, default_listen)
    return states
