"""Validators for the dialplan's shared behaviour: groups of states that share transitions,
and claims held across a gate (``hold_claim`` / ``resume_held``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from voicebot.dialog.plan import Group, State
from voicebot.dialog.plan_states import read_transitions
from voicebot.dialog.plan_validation import Validation

GROUP_KEYS = ("states", "on")


def read_groups(v: Validation, raw: Any, states: dict[str, State]) -> dict[str, Group]:
    """``groups``: each names its member states and the transitions they share."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        v.problem("groups", "expected a mapping of group name → {states, on}")
        return {}
    groups: dict[str, Group] = {}
    member_of: dict[str, str] = {}
    for raw_name, spec in raw.items():
        name = str(raw_name)
        path = f"groups.{name}"
        if not isinstance(spec, dict):
            v.problem(path, "expected {states: [state, ...], on: [transitions]}")
            continue
        for key in spec:
            if key not in GROUP_KEYS:
                v.problem(f"{path}.{key}", "unknown key (states, on)")
        members = _members(v, spec.get("states"), states, member_of, name, path)
        on = read_transitions(v, spec.get("on") or [], f"{path}.on")
        if not on:
            v.problem(f"{path}.on", "a group shares at least one transition")
        groups[name] = Group(name, members, on, path)
    return groups


def _members(
    v: Validation,
    raw: Any,
    states: dict[str, State],
    member_of: dict[str, str],
    group: str,
    path: str,
) -> tuple[str, ...]:
    """The group's states; each listens, exists, and belongs to no other group."""
    if not isinstance(raw, list) or not raw:
        v.problem(f"{path}.states", "expected a non-empty list of state names")
        return ()
    names: list[str] = []
    for i, item in enumerate(raw):
        mpath = f"{path}.states[{i}]"
        member = str(item)
        state = states.get(member)
        if member not in v.state_names:
            v.problem(mpath, f"unknown state {member!r}")
        elif member in member_of:
            v.problem(
                mpath,
                f"state {member!r} is already in group {member_of[member]!r}: "
                "a state follows one group, so the matching order stays plain",
            )
        elif state is not None and state.listen is None:
            v.problem(
                mpath, f"state {member!r} does not listen, so shared transitions would never apply"
            )
        else:
            member_of[member] = group
            names.append(member)
    return tuple(names)


def with_groups(states: dict[str, State], groups: dict[str, Group]) -> dict[str, State]:
    """Each member state knows its group, so matching needs no reverse lookup."""
    member_of = {member: g.name for g in groups.values() for member in g.states}
    return {
        name: replace(state, group=member_of[name]) if name in member_of else state
        for name, state in states.items()
    }


def check_held_claims(v: Validation, states: dict[str, State], groups: dict[str, Group]) -> None:
    """A claim held with ``hold_claim`` needs a ``resume_held`` state, or it is silently lost."""
    if any(state.resume_held for state in states.values()):
        return
    transitions = [t for state in states.values() for t in state.on]
    transitions += [t for group in groups.values() for t in group.on]
    for t in transitions:
        for i, step in enumerate(t.do):
            if step.op == "hold_claim":
                v.problem(
                    f"{t.path}.do[{i}]",
                    "hold_claim keeps the utterance for a state with `resume_held: true`, "
                    "but no state has one",
                )
