"""``include:``: one dialplan built on another's states instead of a copy of them.

The included plan's settings, defaults, groups, states and prompts are the base; the including
plan's own entries of the same name replace them (a state, a group, a prompt, a setting). The
included states the including plan never reaches are left out, so a plan can include a whole
flow and use only its negotiation. One level only: an included plan includes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from voicebot.dialog.plan import Dialplan, DialplanError
from voicebot.dialog.plan_validation import Validation
from voicebot.dialog.yaml_loading import load_yaml

MERGED_MAPPINGS = ("settings", "groups", "states")


@dataclass(frozen=True, slots=True)
class Included:
    """What ``include:`` brought: the merged plan data, the base's prompts, its state names."""

    data: dict[str, Any]
    prompts_text: str
    prompts_source: str
    states: frozenset[str]  # the states that came only from the included plan


def read_include(v: Validation, data: dict[str, Any], base_dir: Path | None) -> Included | None:
    """Merge the included plan under ``data``; None when there is no ``include:``."""
    ref = data.get("include")
    if ref is None:
        return None
    if not isinstance(ref, str) or not ref:
        v.problem("include", "expected the path of a dialplan file (relative to this one)")
        return None
    path = Path(ref)
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    try:
        base = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        v.problem("include", f"cannot read {path}: {exc.strerror}")
        return None
    except DialplanError as exc:
        v.problem("include", f"{path}: {exc}")
        return None
    if not isinstance(base, dict) or not isinstance(base.get("states"), dict):
        v.problem("include", f"{path}: not a dialplan (a mapping with `states`)")
        return None
    if "include" in base:
        v.problem("include", f"{path} includes another plan: only one level of include")
        return None
    merged = dict(data)
    for key in MERGED_MAPPINGS:
        own = data.get(key) or {}
        inherited = base.get(key) or {}
        if isinstance(own, dict) and isinstance(inherited, dict):
            merged[key] = {**inherited, **own}
    if "defaults" not in data and "defaults" in base:
        merged["defaults"] = base["defaults"]
    prompts_text, prompts_source = _base_prompts(v, base, path.parent)
    own_states = set(map(str, data.get("states") or {}))
    only_base = frozenset(str(n) for n in base["states"] if str(n) not in own_states)
    return Included(merged, prompts_text, prompts_source, only_base)


def _base_prompts(v: Validation, base: dict[str, Any], folder: Path) -> tuple[str, str]:
    ref = base.get("prompts")
    if not isinstance(ref, str) or not ref:
        return "", ""
    path = Path(ref) if Path(ref).is_absolute() else folder / ref
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except OSError as exc:
        v.problem("include", f"cannot read the included plan's prompts {path}: {exc.strerror}")
        return "", str(path)


def prune_unreached(plan: Dialplan, included: frozenset[str], reached: set[str]) -> Dialplan:
    """The plan without the included states it never reaches (and without them in groups)."""
    dropped = included - reached
    if not dropped:
        return plan
    states = {name: s for name, s in plan.states.items() if name not in dropped}
    groups = {}
    for name, group in plan.groups.items():
        members = tuple(m for m in group.states if m not in dropped)
        if members:
            groups[name] = replace(group, states=members)
    return replace(plan, states=states, groups=groups)
