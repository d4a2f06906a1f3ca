"""Whole-plan checks, run once every state is typed: reachability, a way out of repeated
failures in every listening state, and no debt disclosure before right-party verification."""

from __future__ import annotations

from collections import deque

from voicebot.dialog.plan import Dialplan, Step
from voicebot.dialog.plan_validation import Validation


def reachable(plan: Dialplan) -> set[str]:
    """The states a call can reach from the start state."""
    edges = _edges(plan)
    seen = {plan.start}
    queue = deque([plan.start])
    while queue:
        current = queue.popleft()
        for target, _sets_rp in edges.get(current, []):
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def check_graph(v: Validation, plan: Dialplan, default_events: set[str]) -> None:
    edges = _edges(plan)
    seen = reachable(plan)
    for name in plan.states:
        if name not in seen:
            v.problem(f"states.{name}", f"unreachable from start state {plan.start!r}")
    for name, state in plan.states.items():
        if state.listen is not None:
            handled = {t.event for t in plan.transitions(state)} | default_events
            for event in ("max_no_input", "max_no_match"):
                if event not in handled:
                    v.problem(
                        f"states.{name}.on",
                        f"no `event: {event}` transition here or in defaults.on: "
                        "the call would have no way out after repeated failures",
                    )
    _check_disclosure(v, plan, edges)


def _check_disclosure(
    v: Validation, plan: Dialplan, edges: dict[str, list[tuple[str, bool]]]
) -> None:
    """Disclosing prompts must be unreachable before right-party verification."""
    before: dict[str, list[str]] = {plan.start: [plan.start]}
    queue = deque([plan.start])
    start_state = plan.states.get(plan.start)
    if start_state is not None and _sets_right_party(start_state.do):
        return
    while queue:
        current = queue.popleft()
        for target, sets_rp in edges.get(current, []):
            target_state = plan.states.get(target)
            if sets_rp or target_state is None or _sets_right_party(target_state.do):
                continue
            if target not in before:
                before[target] = [*before[current], target]
                queue.append(target)
    for name, trail in before.items():
        state = plan.states[name]
        said: list[tuple[str, str]] = [
            (f"states.{name}.say[{i}]", s.prompt) for i, s in enumerate(state.say)
        ]
        if state.reprompt:
            said.append((f"states.{name}.reprompt", state.reprompt))
        for t in plan.transitions(state):
            if not _sets_right_party(t.do):
                said.extend((f"{t.path}.say", key) for key in t.say)
        for path, key in said:
            prompt = plan.prompts.get(key)
            if prompt is not None and prompt.discloses:
                v.problem(
                    path,
                    f"prompt {key!r} discloses the debt but state {name!r} is reachable before "
                    f"right-party verification (path: {' → '.join(trail)})",
                )


def _sets_right_party(steps: tuple[Step, ...]) -> bool:
    return any(s.op == "flag" and ("flag", "right_party") in s.args for s in steps)


def _edges(plan: Dialplan) -> dict[str, list[tuple[str, bool]]]:
    """state → [(next state, whether the edge verifies the right party)]."""
    edges: dict[str, list[tuple[str, bool]]] = {}
    for name, state in plan.states.items():
        out: list[tuple[str, bool]] = []
        for t in plan.transitions(state):
            if t.goto:
                out.append((t.goto, _sets_right_party(t.do)))
        for b in state.next:
            out.append((b.goto, False))
        edges[name] = out
    return edges
