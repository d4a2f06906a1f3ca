"""Validators for a dialplan's leaves: references, operands, conditions, actions and names.

Each takes the raw YAML value and its YAML path, returns the typed value (or ``None`` /
nothing when invalid) and records what is wrong in the ``Validation``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from voicebot.dialog.plan import (
    ACTION_KEYS,
    CALL_FIELDS,
    CONDITION_KEYS,
    DEBT_FIELDS,
    ENTITY_FIELDS,
    FLAGS,
    LIMIT_FIELDS,
    Condition,
    Operand,
    Ref,
    Step,
)
from voicebot.dialog.plan_validation import Validation
from voicebot.dialog.understanding import Intent
from voicebot.domain.outcome import Disposition

_UNARY_CONDITIONS = {"present", "absent", "is", "not", "matches_document"}


def read_ref(v: Validation, raw: Any, path: str) -> Ref | None:
    if not isinstance(raw, str) or "." not in raw:
        if raw == "today":
            return Ref("today", "")
        v.problem(path, "expected a reference like entity.amount or slot.promise_date")
        return None
    namespace, name = raw.split(".", 1)
    allowed: dict[str, tuple[str, ...] | None] = {
        "entity": ENTITY_FIELDS,
        "limits": LIMIT_FIELDS,
        "debt": DEBT_FIELDS,
        "call": CALL_FIELDS,
        "settings": tuple(v.settings),
        "slot": None,
    }
    if namespace not in allowed:
        v.problem(path, f"unknown namespace {namespace!r} (one of {', '.join(allowed)})")
        return None
    names = allowed[namespace]
    if names is not None and name not in names:
        v.problem(path, f"unknown {namespace} field {name!r} (one of {', '.join(names)})")
        return None
    if namespace == "slot":
        v.slot_reads.append((name, path))
    return Ref(namespace, name)


def read_operand(v: Validation, raw: Any, path: str) -> Operand | None:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        try:
            return Decimal(str(raw))
        except InvalidOperation:
            v.problem(path, "not a number")
            return None
    if isinstance(raw, str) and ("." in raw or raw == "today") and " " not in raw:
        return read_ref(v, raw, path)
    if isinstance(raw, str):
        return raw
    v.problem(path, "expected a reference, a number, text or true/false")
    return None


def read_conditions(v: Validation, raw: Any, path: str) -> tuple[Condition, ...]:
    if not isinstance(raw, list):
        v.problem(path, "expected a list of conditions")
        return ()
    result: list[Condition] = []
    for i, item in enumerate(raw):
        condition = _condition(v, item, f"{path}[{i}]")
        if condition is not None:
            result.append(condition)
    return tuple(result)


def _condition(v: Validation, item: Any, path: str) -> Condition | None:
    if not isinstance(item, dict) or len(item) != 1:
        v.problem(path, f"a condition is one of: {', '.join(CONDITION_KEYS)}")
        return None
    ((op, arg),) = item.items()
    if op not in CONDITION_KEYS:
        v.problem(f"{path}.{op}", f"unknown condition (one of {', '.join(CONDITION_KEYS)})")
        return None
    if op in _UNARY_CONDITIONS:
        ref = read_ref(v, arg, f"{path}.{op}")
        return Condition(op, (ref,)) if ref is not None else None
    if not isinstance(arg, list) or len(arg) != 2:
        v.problem(f"{path}.{op}", "expected [left, right]")
        return None
    left = read_ref(v, arg[0], f"{path}.{op}[0]")
    right = read_operand(v, arg[1], f"{path}.{op}[1]")
    if left is None or right is None:
        return None
    return Condition(op, (left, right))


def read_steps(v: Validation, raw: Any, path: str) -> tuple[Step, ...]:
    """A ``do`` list: each item is an action name, or ``{action: argument}``."""
    if not isinstance(raw, list):
        v.problem(path, "expected a list of actions")
        return ()
    result: list[Step] = []
    for i, item in enumerate(raw):
        step = _step(v, {item: {}} if isinstance(item, str) else item, f"{path}[{i}]")
        if step is not None:
            result.append(step)
    return tuple(result)


def _step(v: Validation, item: Any, path: str) -> Step | None:
    if not isinstance(item, dict) or len(item) != 1:
        v.problem(path, f"an action is one of: {', '.join(ACTION_KEYS)}")
        return None
    ((op, arg),) = item.items()
    if op not in ACTION_KEYS:
        v.problem(f"{path}.{op}", f"unknown action (one of {', '.join(ACTION_KEYS)})")
        return None
    args = _step_args(v, op, arg, f"{path}.{op}")
    return None if args is None else Step(op, tuple(args))


def _step_args(v: Validation, op: str, arg: Any, path: str) -> list[tuple[str, Operand]] | None:
    """The action's arguments, or ``None`` when the action must be dropped."""
    args: list[tuple[str, Operand]] = []
    if op == "set":
        if not isinstance(arg, dict) or not arg:
            v.problem(path, "expected {slot_name: reference or value}")
            return None
        for slot, value in arg.items():
            operand = read_operand(v, value, f"{path}.{slot}")
            if operand is not None:
                v.slots_written.add(str(slot))
                args.append((str(slot), operand))
    elif op in {"clear", "increment"}:
        for name in arg if isinstance(arg, list) else [arg]:
            if not isinstance(name, str):
                v.problem(path, "expected slot names")
                continue
            v.slots_written.add(name)
            args.append((name, True))
    elif op == "flag":
        if arg not in FLAGS:
            v.problem(path, f"unknown flag (one of {', '.join(FLAGS)})")
            return None
        args.append(("flag", str(arg)))
    elif op == "disposition":
        disposition = read_disposition(v, arg, path)
        if disposition is None:
            return None
        args.append(("code", disposition.value))
    elif op == "request_link":
        if not isinstance(arg, bool):
            v.problem(path, "expected true (the debtor wants the link) or false")
            return None
        args.append(("accepted", arg))
    elif arg not in (None, {}, True):
        v.problem(path, "takes no arguments ({} or nothing)")
    return args


def check_intent(v: Validation, name: str, path: str) -> None:
    if name not in {i.value for i in Intent}:
        v.problem(path, f"unknown intent {name!r} (one of {', '.join(i.value for i in Intent)})")


def read_disposition(v: Validation, raw: Any, path: str) -> Disposition | None:
    try:
        return Disposition(str(raw))
    except ValueError:
        v.problem(
            path,
            f"unknown disposition {raw!r} (one of {', '.join(d.value for d in Disposition)})",
        )
        return None


def read_positive_int(v: Validation, raw: Any, path: str) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
        v.problem(path, "expected a whole number ≥ 1")
        return 3
    return raw


def read_prompt_key(v: Validation, key: Any, path: str) -> str | None:
    if key is None:
        return None
    if not isinstance(key, str):
        v.problem(path, "expected a prompt key")
        return None
    if key not in v.prompt_keys:
        v.problem(path, f"missing prompt {key!r} (not in the prompts file)")
        return None
    return key
