"""Validators for one dialplan state: its prompts, listening, transitions, branches, transfer
and end, and the rule that a state does exactly one thing after its prompts."""

from __future__ import annotations

import re
from typing import Any

from voicebot.actions import ListenMode
from voicebot.dialog.plan import (
    EVENTS,
    EXPECT_KINDS,
    Branch,
    Hints,
    ListenSpec,
    SayItem,
    State,
    Transition,
)
from voicebot.dialog.plan_validation import Validation
from voicebot.dialog.plan_values import (
    check_intent,
    read_conditions,
    read_disposition,
    read_prompt_key,
    read_steps,
)
from voicebot.domain.outcome import Disposition

STATE_KEYS = ("say", "do", "listen", "on", "next", "transfer", "end", "reprompt", "resume_held")
_TRANSITION_KEYS = {"intent", "dtmf", "event", "when", "do", "say", "goto", "repeat"}
_DEFAULT_TRANSFER_TIMEOUT_S = 45.0


def read_state(
    v: Validation, name: str, raw: dict[str, Any], path: str, default_listen: dict[str, Any]
) -> State:
    for key in raw:
        if key not in STATE_KEYS:
            v.problem(
                f"{path}.{key}", f"unknown key (expected one of {', '.join(sorted(STATE_KEYS))})"
            )
    say = read_say_items(v, raw.get("say") or [], f"{path}.say")
    do = read_steps(v, raw.get("do") or [], f"{path}.do")
    listen = None
    if "listen" in raw:
        listen = read_listen(v, {**default_listen, **(raw.get("listen") or {})}, f"{path}.listen")
    on = read_transitions(v, raw.get("on") or [], f"{path}.on")
    branches = read_branches(v, raw.get("next") or [], f"{path}.next")
    transfer_reason, transfer_timeout = _transfer(v, raw, path)
    end = "end" in raw
    end_disposition = _end_disposition(v, raw["end"], path) if end else None
    state = State(
        name=name,
        say=say,
        do=do,
        listen=listen,
        on=on,
        next=branches,
        transfer_reason=transfer_reason,
        transfer_timeout_s=transfer_timeout,
        end=end,
        end_disposition=end_disposition,
        reprompt=read_prompt_key(v, raw.get("reprompt"), f"{path}.reprompt"),
        resume_held=_resume_held(v, raw, path, listening=listen is not None),
    )
    _check_shape(v, state, path)
    return state


def _resume_held(v: Validation, raw: dict[str, Any], path: str, *, listening: bool) -> bool:
    value = raw.get("resume_held", False)
    if not isinstance(value, bool):
        v.problem(f"{path}.resume_held", "expected true or false")
        return False
    if value and not listening:
        v.problem(f"{path}.resume_held", "only a listening state can answer a held utterance")
        return False
    return value


def _transfer(v: Validation, raw: dict[str, Any], path: str) -> tuple[str | None, float]:
    if "transfer" not in raw:
        return None, _DEFAULT_TRANSFER_TIMEOUT_S
    spec = raw["transfer"]
    if not isinstance(spec, dict) or not isinstance(spec.get("reason"), str):
        v.problem(f"{path}.transfer", "expected {reason: text, timeout: seconds}")
        return None, _DEFAULT_TRANSFER_TIMEOUT_S
    return spec["reason"], float(spec.get("timeout", _DEFAULT_TRANSFER_TIMEOUT_S))


def _end_disposition(v: Validation, raw: Any, path: str) -> Disposition | None:
    spec = raw or {}
    if not isinstance(spec, dict):
        v.problem(f"{path}.end", "expected {disposition: CODE} or {}")
        return None
    if "disposition" not in spec:
        return None
    return read_disposition(v, spec["disposition"], f"{path}.end.disposition")


def _check_shape(v: Validation, state: State, path: str) -> None:
    """One thing after the prompts, transitions only where they can fire, and always a way on."""
    doing = (
        ("listen", state.listen is not None),
        ("next", bool(state.next)),
        ("transfer", state.transfer_reason is not None),
        ("end", state.end),
    )
    modes = [mode for mode, present in doing if present]
    if not modes:
        v.problem(path, "dead end: the state neither listens, branches (next), transfers nor ends")
    elif len(modes) > 1:
        v.problem(
            path, f"a state does one thing after its prompts; this one has {', '.join(modes)}"
        )
    if state.on and state.listen is None and state.transfer_reason is None:
        v.problem(f"{path}.on", "transitions need a `listen` (or `transfer`) in the same state")
    if state.next and state.next[-1].when:
        v.problem(
            f"{path}.next[{len(state.next) - 1}]",
            "the last branch must have no `when` so the call can always continue",
        )
    if state.transfer_reason is not None and not any(
        t.event == "transfer_failed" for t in state.on
    ):
        v.problem(
            f"{path}.on",
            "a transfer state needs an `event: transfer_failed` transition: "
            "a call is never just dropped when no agent answers",
        )


def read_listen(v: Validation, raw: dict[str, Any], path: str) -> ListenSpec:
    for key in raw:
        if key not in {"mode", "timeout", "max_digits", "hints"}:
            v.problem(f"{path}.{key}", "unknown key (mode, timeout, max_digits, hints)")
    try:
        mode = ListenMode(raw.get("mode", "speech"))
    except ValueError:
        v.problem(f"{path}.mode", "expected speech, dtmf or both")
        mode = ListenMode.SPEECH
    timeout = raw.get("timeout", 6)
    if not isinstance(timeout, int | float) or timeout <= 0:
        v.problem(f"{path}.timeout", "expected a positive number of seconds")
        timeout = 6
    max_digits = raw.get("max_digits", 0)
    if not isinstance(max_digits, int) or max_digits < 0:
        v.problem(f"{path}.max_digits", "expected a whole number ≥ 0")
        max_digits = 0
    hints = _hints(v, raw.get("hints") or {}, f"{path}.hints")
    return ListenSpec(mode, float(timeout), max_digits, hints)


def _hints(v: Validation, raw: Any, path: str) -> Hints:
    if not isinstance(raw, dict):
        v.problem(path, "expected a mapping (phrases, keywords, expect)")
        raw = {}
    for key in raw:
        if key not in {"phrases", "keywords", "expect"}:
            v.problem(f"{path}.{key}", "unknown key (phrases, keywords, expect)")
    phrases: list[str] = []
    for i, phrase in enumerate(raw.get("phrases") or []):
        if not isinstance(phrase, str):
            v.problem(f"{path}.phrases[{i}]", "expected text")
        else:
            phrases.append(phrase)
    keywords = _keywords(v, raw.get("keywords") or {}, f"{path}.keywords")
    expect: list[str] = []
    for i, kind in enumerate(raw.get("expect") or []):
        if kind not in EXPECT_KINDS:
            v.problem(f"{path}.expect[{i}]", f"unknown kind (one of {', '.join(EXPECT_KINDS)})")
        else:
            expect.append(kind)
    return Hints(tuple(phrases), tuple(keywords), tuple(expect))


def _keywords(v: Validation, raw: Any, path: str) -> list[tuple[str, str]]:
    """``intent → phrases`` as (phrase, intent) pairs."""
    if not isinstance(raw, dict):
        v.problem(path, "expected intent → list of phrases")
        return []
    keywords: list[tuple[str, str]] = []
    for intent, items in raw.items():
        check_intent(v, str(intent), f"{path}.{intent}")
        for i, phrase in enumerate(items if isinstance(items, list) else [items]):
            if not isinstance(phrase, str):
                v.problem(f"{path}.{intent}[{i}]", "expected text")
            else:
                keywords.append((phrase, str(intent)))
    return keywords


def read_say_items(v: Validation, raw: Any, path: str) -> tuple[SayItem, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        v.problem(path, "expected a list of prompt keys")
        return ()
    items: list[SayItem] = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            key = read_prompt_key(v, item, f"{path}[{i}]")
            if key:
                items.append(SayItem(key))
        elif isinstance(item, dict) and isinstance(item.get("prompt"), str):
            key = read_prompt_key(v, item["prompt"], f"{path}[{i}].prompt")
            when = read_conditions(v, item.get("when") or [], f"{path}[{i}].when")
            if key:
                items.append(SayItem(key, when))
        else:
            v.problem(f"{path}[{i}]", "expected a prompt key or {prompt: key, when: [...]}")
    return tuple(items)


def read_transitions(v: Validation, raw: Any, path: str) -> tuple[Transition, ...]:
    if not isinstance(raw, list):
        v.problem(path, "expected a list of transitions")
        return ()
    result: list[Transition] = []
    for i, item in enumerate(raw):
        transition = _transition(v, item, f"{path}[{i}]")
        if transition is not None:
            result.append(transition)
    return tuple(result)


def _transition(v: Validation, item: Any, path: str) -> Transition | None:
    if not isinstance(item, dict):
        v.problem(path, "expected a mapping (intent/dtmf/event, when, do, say, goto)")
        return None
    for key in item:
        if key not in _TRANSITION_KEYS:
            v.problem(f"{path}.{key}", "unknown key")
    triggers = [k for k in ("intent", "dtmf", "event") if k in item]
    if len(triggers) != 1:
        v.problem(path, "a transition has exactly one trigger: intent, dtmf or event")
        return None
    intents = _intents(v, item["intent"], path) if "intent" in item else ()
    dtmf = None
    if "dtmf" in item:
        dtmf = str(item["dtmf"])
        if dtmf != "any" and not re.fullmatch(r"[0-9*#]+", dtmf):
            v.problem(f"{path}.dtmf", "expected keys 0-9 * # or `any`")
    event = None
    if "event" in item:
        event = str(item["event"])
        if event not in EVENTS:
            v.problem(f"{path}.event", f"unknown event (one of {', '.join(EVENTS)})")
    repeat = bool(item.get("repeat", False))
    goto = _goto(v, item.get("goto"), repeat, path)
    when = read_conditions(v, item.get("when") or [], f"{path}.when")
    do = read_steps(v, item.get("do") or [], f"{path}.do")
    say = read_say_items(v, item.get("say") or [], f"{path}.say")
    return Transition(
        intents=intents,
        dtmf=dtmf,
        event=event,
        when=when,
        do=do,
        say=tuple(s.prompt for s in say),
        goto=goto,
        repeat=repeat,
        path=path,
    )


def _intents(v: Validation, raw: Any, path: str) -> tuple[str, ...]:
    """One intent or a list; ``any`` alone is the catch-all, not an intent to check."""
    listed = isinstance(raw, list)
    intents = tuple(str(x) for x in (raw if listed else [raw]))
    for j, intent in enumerate(intents):
        if intent != "any" or len(intents) > 1:
            check_intent(v, intent, f"{path}.intent[{j}]" if listed else f"{path}.intent")
    return intents


def _goto(v: Validation, raw: Any, repeat: bool, path: str) -> str | None:
    if raw is None:
        if not repeat:
            v.problem(path, "needs `goto: state` or `repeat: true`")
        return None
    goto = str(raw)
    if goto not in v.state_names:
        v.problem(f"{path}.goto", f"unknown state {goto!r}")
    return goto


def read_branches(v: Validation, raw: Any, path: str) -> tuple[Branch, ...]:
    if not isinstance(raw, list):
        v.problem(path, "expected a list of {when, goto}")
        return ()
    result: list[Branch] = []
    for i, item in enumerate(raw):
        bpath = f"{path}[{i}]"
        if not isinstance(item, dict) or "goto" not in item:
            v.problem(bpath, "expected {when: [...], goto: state}")
            continue
        for key in item:
            if key not in {"when", "goto"}:
                v.problem(f"{bpath}.{key}", "unknown key")
        goto = str(item["goto"])
        if goto not in v.state_names:
            v.problem(f"{bpath}.goto", f"unknown state {goto!r}")
        when = read_conditions(v, item.get("when") or [], f"{bpath}.when")
        result.append(Branch(when, goto, bpath))
    return tuple(result)
