"""Dialplans: YAML in, a validated, typed plan out — or every mistake with its YAML path.

The file's rules, stated once:
- A state does one of four things after saying its prompts: ``listen`` (then follows
  ``on`` transitions), ``next`` (decides at once), ``transfer`` (waits for the agent
  leg), or ``end`` (hangs up with a disposition). A state with none is a dead end.
- Transitions are matched in two passes: first those with a specific trigger
  (an intent, a DTMF key, an event) — the state's own, then the plan's ``defaults.on``;
  then the catch-alls (``intent: any``, ``dtmf: any``). So "no me llamen más" is
  honoured even in a state that records any answer.
- Conditions and actions are a closed vocabulary (below); references name
  ``entity.*`` (what was just understood), ``slot.*`` (what the call remembers),
  ``limits.*`` (creditor terms), ``debt.*``, ``settings.*`` and ``call.*``.
- A prompt that mentions the debt (``{debt.*}``, ``{creditor}``, collection words,
  or ``discloses: true``) must be unreachable before a ``flag: right_party``.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from voicebot.actions import ListenMode
from voicebot.dialog import safe_yaml
from voicebot.dialog.outcome import Disposition
from voicebot.dialog.understanding import Intent

EVENTS = (
    "no_input",  # handled by reprompting until max_no_input; a transition may override
    "max_no_input",
    "max_no_match",
    "transfer_failed",
    "transfer_completed",
)
EXPECT_KINDS = ("yes_no", "amount", "date", "time", "digits", "free")
SETTING_TYPES = (bool, int, str)

ENTITY_FIELDS = (
    "amount",
    "date",
    "callback_at",
    "digits",
    "instalments",
    "full_balance",
    "intent",
    "text",
)
LIMIT_FIELDS = (
    "min_payment",
    "max_days_ahead",
    "max_instalments",
    "min_instalment",
    "latest_date",  # today + max_days_ahead
)
DEBT_FIELDS = ("total", "days_past_due")
CALL_FIELDS = ("right_party", "disclosed")
# Slots the built-in actions fill; ``set``/``increment`` may add others.
BUILTIN_SLOTS = (
    "promise_amount",
    "promise_date",
    "promise_instalments",
    "callback_at",
    "callback_date",
    "offer_instalments",
    "offer_instalment_amount",
    "last_text",
)

PROMPT_VARIABLES = {
    "greeting": False,
    "company": False,
    "callback_number": False,
    "debtor.full_name": False,
    "debtor.first_name": False,
    "debtor.treatment": False,
    "document_digits": False,
    "promise.amount": False,
    "promise.date": False,
    "promise.instalments": False,
    "callback.when": False,
    "offer.instalments": False,
    "offer.instalment_amount": False,
    "limits.min_payment": False,
    "limits.latest_date": False,
    # These reveal the debt: allowed only after right-party verification.
    "creditor": True,
    "debt.amount": True,
    "debt.days_past_due": True,
    "debt.product": True,
}
VARIABLE_PATTERN = re.compile(r"\{([a-z_.]+)\}")
# Words that reveal a collection purpose even without a variable.
_COLLECTION_WORDS = re.compile(
    r"\b(deudas?|mora|saldo|cobranza|cobro|adeuda|pagos?|pagar|cuotas?|abonos?|obligaci[oó]n vencida)\b",
    re.IGNORECASE,
)

CONDITION_KEYS = (
    "present",
    "absent",
    "is",
    "not",
    "lt",
    "le",
    "gt",
    "ge",
    "eq",
    "within_days",
    "matches_document",
)
ACTION_KEYS = (
    "set",
    "clear",
    "increment",
    "flag",
    "disposition",
    "record_promise",
    "schedule_callback",
    "opt_out",
    "mark_phone_invalid",
    "record_dispute",
    "record_paid",
    "compute_offer",
    "accept_offer",
)
FLAGS = ("right_party",)


def load_yaml(text: str) -> Any:
    """Parse YAML text safely, with YAML 1.2 booleans (shared by dialplans and prompt files)."""
    return safe_yaml.load(text)


class DialplanError(Exception):
    """A dialplan that cannot run; ``problems`` lists every mistake found."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(p.render(source) for p in problems))


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str
    line: int | None = None

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.path}: {self.message}"


# ---------------------------------------------------------------- typed plan


@dataclass(frozen=True, slots=True)
class Ref:
    """A dotted reference such as ``slot.promise_amount``."""

    namespace: str
    name: str


Operand = Ref | Decimal | int | str | bool


@dataclass(frozen=True, slots=True)
class Condition:
    op: str  # one of CONDITION_KEYS
    args: tuple[Operand, ...]


@dataclass(frozen=True, slots=True)
class Step:
    """One action of a ``do`` list."""

    op: str  # one of ACTION_KEYS
    args: tuple[tuple[str, Operand], ...] = ()


@dataclass(frozen=True, slots=True)
class Transition:
    intents: tuple[str, ...] = ()  # ("any",) for the catch-all
    dtmf: str | None = None  # a key sequence or "any"
    event: str | None = None
    when: tuple[Condition, ...] = ()
    do: tuple[Step, ...] = ()
    say: tuple[str, ...] = ()
    goto: str | None = None
    repeat: bool = False
    path: str = ""

    @property
    def is_catch_all(self) -> bool:
        return self.intents == ("any",) or self.dtmf == "any"


@dataclass(frozen=True, slots=True)
class Branch:
    when: tuple[Condition, ...]
    goto: str
    path: str = ""


@dataclass(frozen=True, slots=True)
class SayItem:
    prompt: str
    when: tuple[Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class Hints:
    phrases: tuple[str, ...] = ()
    keywords: tuple[tuple[str, str], ...] = ()
    expect: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ListenSpec:
    mode: ListenMode
    timeout_s: float
    max_digits: int
    hints: Hints


@dataclass(frozen=True, slots=True)
class State:
    name: str
    say: tuple[SayItem, ...] = ()
    do: tuple[Step, ...] = ()
    listen: ListenSpec | None = None
    on: tuple[Transition, ...] = ()
    next: tuple[Branch, ...] = ()
    transfer_reason: str | None = None
    transfer_timeout_s: float = 45.0
    end: bool = False
    end_disposition: Disposition | None = None
    reprompt: str | None = None


@dataclass(frozen=True, slots=True)
class Prompt:
    key: str
    text: str
    discloses: bool
    variables: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Dialplan:
    name: str
    language: str
    start: str
    states: dict[str, State]
    prompts: dict[str, Prompt]
    settings: dict[str, bool | int | str]
    default_on: tuple[Transition, ...]
    max_no_input: int
    max_no_match: int
    no_input_prompt: str | None
    no_match_prompt: str | None
    source: str = ""
    prompts_source: str = ""
    extras: dict[str, Any] = field(default_factory=dict)

    def with_settings(self, overrides: dict[str, bool | int | str]) -> Dialplan:
        """The same plan with campaign-level settings applied (unknown names rejected)."""
        unknown = sorted(set(overrides) - set(self.settings))
        if unknown:
            raise DialplanError(
                self.source, [Problem(f"settings.{k}", "unknown setting") for k in unknown]
            )
        merged = {**self.settings, **overrides}
        return Dialplan(**{**_fields(self), "settings": merged})

    def static_prompts(self) -> list[Prompt]:
        """Prompts with no variables: what a campaign pre-renders at launch."""
        return [p for p in self.prompts.values() if not p.variables]


def _fields(plan: Dialplan) -> dict[str, Any]:
    return {name: getattr(plan, name) for name in plan.__dataclass_fields__}


# ---------------------------------------------------------------- loading


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
    lines = _LineIndex.parse(text, source)
    data = _load(text, source)
    if not isinstance(data, dict):
        raise DialplanError(source, [Problem("<root>", "a dialplan is a mapping with `states`")])
    builder = _Builder(lines)
    prompts_source = ""
    if prompts_text is None:
        ref = prompts_path if prompts_path is not None else data.get("prompts")
        if not isinstance(ref, str | Path) or not str(ref):
            builder.problem("prompts", "missing: the path of the prompts file")
            prompts_text = ""
        else:
            prompt_file = Path(ref)
            if not prompt_file.is_absolute() and prompts_path is None:
                prompt_file = (base_dir or Path.cwd()) / prompt_file
            prompts_source = str(prompt_file)
            try:
                prompts_text = prompt_file.read_text(encoding="utf-8")
            except OSError as exc:
                builder.problem(
                    "prompts", f"cannot read prompts file {prompt_file}: {exc.strerror}"
                )
                prompts_text = ""
    prompts = builder.prompts(prompts_text, prompts_source)
    plan = builder.plan(data, prompts, source, prompts_source)
    if builder.problems:
        raise DialplanError(source, sorted(builder.problems, key=lambda p: (p.line or 0, p.path)))
    assert plan is not None
    return plan


def _load(text: str, source: str) -> Any:
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise DialplanError(source, [Problem("<yaml>", f"not valid YAML: {exc}", line)]) from exc


class _LineIndex:
    """Maps a YAML path ("states.greeting.on[1].goto") to its line number."""

    def __init__(self, lines: dict[str, int]) -> None:
        self.lines = lines

    @classmethod
    def parse(cls, text: str, source: str) -> _LineIndex:
        try:
            root = safe_yaml.compose(text)
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


class _Builder:
    """Turns parsed YAML into typed objects, collecting problems instead of stopping."""

    def __init__(self, lines: _LineIndex) -> None:
        self.lines = lines
        self.problems: list[Problem] = []
        self.prompt_lines: _LineIndex | None = None
        self.slots_written: set[str] = set(BUILTIN_SLOTS)
        self.slot_reads: list[tuple[str, str]] = []
        self.settings: dict[str, bool | int | str] = {}

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message, self.lines.line(path)))

    # -- prompts

    def prompts(self, text: str, source: str) -> dict[str, Prompt]:
        if not text:
            return {}
        try:
            index = _LineIndex.parse(text, source)
            data = _load(text, source)
        except DialplanError as exc:
            self.problems.extend(exc.problems)
            return {}
        if not isinstance(data, dict):
            self.problems.append(Problem("<prompts>", f"{source}: expected a mapping key → text"))
            return {}
        prompts: dict[str, Prompt] = {}
        for key, value in data.items():
            discloses = False
            if isinstance(value, dict):
                discloses = bool(value.get("discloses", False))
                value = value.get("text")
            if not isinstance(value, str) or not value.strip():
                self.problems.append(
                    Problem(f"<prompts>.{key}", f"{source}: prompt text missing", index.line(key))
                )
                continue
            variables = tuple(VARIABLE_PATTERN.findall(value))
            for var in variables:
                if var not in PROMPT_VARIABLES:
                    self.problems.append(
                        Problem(
                            f"<prompts>.{key}",
                            f"{source}: unknown variable {{{var}}} "
                            f"(known: {', '.join(sorted(PROMPT_VARIABLES))})",
                            index.line(key),
                        )
                    )
            discloses = (
                discloses
                or any(PROMPT_VARIABLES.get(v, False) for v in variables)
                or bool(_COLLECTION_WORDS.search(value))
            )
            prompts[str(key)] = Prompt(str(key), value.strip(), discloses, variables)
        return prompts

    # -- plan

    def plan(
        self, data: dict[str, Any], prompts: dict[str, Prompt], source: str, prompts_source: str
    ) -> Dialplan | None:
        known = {"name", "language", "prompts", "start", "settings", "defaults", "states"}
        for key in data:
            if key not in known:
                self.problem(str(key), f"unknown key (expected one of {', '.join(sorted(known))})")
        name = data.get("name")
        if not isinstance(name, str) or not name:
            self.problem("name", "missing or not a string")
            name = "?"
        language = str(data.get("language", "es"))
        settings = data.get("settings") or {}
        if not isinstance(settings, dict):
            self.problem("settings", "expected a mapping of name → value")
            settings = {}
        for key, value in settings.items():
            if not isinstance(value, SETTING_TYPES):
                self.problem(f"settings.{key}", "a setting is a boolean, a number or a string")
        self.settings = {str(k): v for k, v in settings.items() if isinstance(v, SETTING_TYPES)}

        states_data = data.get("states")
        if not isinstance(states_data, dict) or not states_data:
            self.problem("states", "missing: a dialplan needs at least one state")
            return None
        state_names = set(map(str, states_data))
        self.state_names = state_names
        self.prompt_keys = set(prompts)

        defaults = data.get("defaults") or {}
        if not isinstance(defaults, dict):
            self.problem("defaults", "expected a mapping")
            defaults = {}
        for key in defaults:
            if key not in {
                "listen",
                "max_no_input",
                "max_no_match",
                "no_input_prompt",
                "no_match_prompt",
                "on",
            }:
                self.problem(f"defaults.{key}", "unknown key")
        default_listen = defaults.get("listen") or {}
        default_on = self.transitions(defaults.get("on") or [], "defaults.on")
        max_no_input = self.positive_int(defaults.get("max_no_input", 3), "defaults.max_no_input")
        max_no_match = self.positive_int(defaults.get("max_no_match", 3), "defaults.max_no_match")
        no_input_prompt = self.prompt_key(
            defaults.get("no_input_prompt"), "defaults.no_input_prompt"
        )
        no_match_prompt = self.prompt_key(
            defaults.get("no_match_prompt"), "defaults.no_match_prompt"
        )

        states: dict[str, State] = {}
        for raw_name, raw in states_data.items():
            state_name = str(raw_name)
            path = f"states.{state_name}"
            if not isinstance(raw, dict):
                self.problem(path, "a state is a mapping (say / listen / on / next / end ...)")
                continue
            states[state_name] = self.state(state_name, raw, path, default_listen)

        start = data.get("start")
        if not isinstance(start, str) or start not in state_names:
            self.problem("start", f"unknown state {start!r}" if start else "missing")
            start = next(iter(state_names))

        for slot, path in self.slot_reads:
            if slot not in self.slots_written:
                self.problem(
                    path, f"slot.{slot} is read but never set (no `set`/`increment` of it)"
                )

        default_events = {t.event for t in default_on if t.event}
        plan = Dialplan(
            name=name,
            language=language,
            start=start,
            states=states,
            prompts=prompts,
            settings=self.settings,
            default_on=default_on,
            max_no_input=max_no_input,
            max_no_match=max_no_match,
            no_input_prompt=no_input_prompt,
            no_match_prompt=no_match_prompt,
            source=source,
            prompts_source=prompts_source,
        )
        self.check_graph(plan, default_events)
        return plan

    def state(
        self, name: str, raw: dict[str, Any], path: str, default_listen: dict[str, Any]
    ) -> State:
        known = {"say", "do", "listen", "on", "next", "transfer", "end", "reprompt"}
        for key in raw:
            if key not in known:
                self.problem(
                    f"{path}.{key}", f"unknown key (expected one of {', '.join(sorted(known))})"
                )
        say = self.say_items(raw.get("say") or [], f"{path}.say")
        do = self.steps(raw.get("do") or [], f"{path}.do")
        listen = None
        if "listen" in raw:
            listen = self.listen({**default_listen, **(raw.get("listen") or {})}, f"{path}.listen")
        on = self.transitions(raw.get("on") or [], f"{path}.on")
        branches = self.branches(raw.get("next") or [], f"{path}.next")
        transfer_reason = None
        transfer_timeout = 45.0
        if "transfer" in raw:
            spec = raw["transfer"]
            if not isinstance(spec, dict) or not isinstance(spec.get("reason"), str):
                self.problem(f"{path}.transfer", "expected {reason: text, timeout: seconds}")
            else:
                transfer_reason = spec["reason"]
                transfer_timeout = float(spec.get("timeout", 45.0))
        end = "end" in raw
        end_disposition = None
        if end:
            spec = raw["end"] or {}
            if not isinstance(spec, dict):
                self.problem(f"{path}.end", "expected {disposition: CODE} or {}")
            elif "disposition" in spec:
                end_disposition = self.disposition(spec["disposition"], f"{path}.end.disposition")
        reprompt = self.prompt_key(raw.get("reprompt"), f"{path}.reprompt")

        modes = [
            m
            for m, present in (
                ("listen", listen is not None),
                ("next", bool(branches)),
                ("transfer", transfer_reason is not None),
                ("end", end),
            )
            if present
        ]
        if not modes:
            self.problem(
                path, "dead end: the state neither listens, branches (next), transfers nor ends"
            )
        elif len(modes) > 1:
            self.problem(
                path, f"a state does one thing after its prompts; this one has {', '.join(modes)}"
            )
        if on and listen is None and transfer_reason is None:
            self.problem(
                f"{path}.on", "transitions need a `listen` (or `transfer`) in the same state"
            )
        if branches and branches[-1].when:
            self.problem(
                f"{path}.next[{len(branches) - 1}]",
                "the last branch must have no `when` so the call can always continue",
            )
        if transfer_reason is not None and not any(t.event == "transfer_failed" for t in on):
            self.problem(
                f"{path}.on",
                "a transfer state needs an `event: transfer_failed` transition: "
                "a call is never just dropped when no agent answers",
            )
        return State(
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
            reprompt=reprompt,
        )

    def listen(self, raw: dict[str, Any], path: str) -> ListenSpec:
        for key in raw:
            if key not in {"mode", "timeout", "max_digits", "hints"}:
                self.problem(f"{path}.{key}", "unknown key (mode, timeout, max_digits, hints)")
        try:
            mode = ListenMode(raw.get("mode", "speech"))
        except ValueError:
            self.problem(f"{path}.mode", "expected speech, dtmf or both")
            mode = ListenMode.SPEECH
        timeout = raw.get("timeout", 6)
        if not isinstance(timeout, int | float) or timeout <= 0:
            self.problem(f"{path}.timeout", "expected a positive number of seconds")
            timeout = 6
        max_digits = raw.get("max_digits", 0)
        if not isinstance(max_digits, int) or max_digits < 0:
            self.problem(f"{path}.max_digits", "expected a whole number ≥ 0")
            max_digits = 0
        hints_raw = raw.get("hints") or {}
        phrases: list[str] = []
        keywords: list[tuple[str, str]] = []
        expect: list[str] = []
        if not isinstance(hints_raw, dict):
            self.problem(f"{path}.hints", "expected a mapping (phrases, keywords, expect)")
            hints_raw = {}
        for key in hints_raw:
            if key not in {"phrases", "keywords", "expect"}:
                self.problem(f"{path}.hints.{key}", "unknown key (phrases, keywords, expect)")
        for i, phrase in enumerate(hints_raw.get("phrases") or []):
            if not isinstance(phrase, str):
                self.problem(f"{path}.hints.phrases[{i}]", "expected text")
            else:
                phrases.append(phrase)
        kw = hints_raw.get("keywords") or {}
        if not isinstance(kw, dict):
            self.problem(f"{path}.hints.keywords", "expected intent → list of phrases")
            kw = {}
        for intent, items in kw.items():
            self.intent(str(intent), f"{path}.hints.keywords.{intent}")
            for i, phrase in enumerate(items if isinstance(items, list) else [items]):
                if not isinstance(phrase, str):
                    self.problem(f"{path}.hints.keywords.{intent}[{i}]", "expected text")
                else:
                    keywords.append((phrase, str(intent)))
        for i, kind in enumerate(hints_raw.get("expect") or []):
            if kind not in EXPECT_KINDS:
                self.problem(
                    f"{path}.hints.expect[{i}]", f"unknown kind (one of {', '.join(EXPECT_KINDS)})"
                )
            else:
                expect.append(kind)
        return ListenSpec(
            mode, float(timeout), max_digits, Hints(tuple(phrases), tuple(keywords), tuple(expect))
        )

    def say_items(self, raw: Any, path: str) -> tuple[SayItem, ...]:
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list):
            self.problem(path, "expected a list of prompt keys")
            return ()
        items: list[SayItem] = []
        for i, item in enumerate(raw):
            if isinstance(item, str):
                key = self.prompt_key(item, f"{path}[{i}]")
                if key:
                    items.append(SayItem(key))
            elif isinstance(item, dict) and isinstance(item.get("prompt"), str):
                key = self.prompt_key(item["prompt"], f"{path}[{i}].prompt")
                when = self.conditions(item.get("when") or [], f"{path}[{i}].when")
                if key:
                    items.append(SayItem(key, when))
            else:
                self.problem(f"{path}[{i}]", "expected a prompt key or {prompt: key, when: [...]}")
        return tuple(items)

    def prompt_key(self, key: Any, path: str) -> str | None:
        if key is None:
            return None
        if not isinstance(key, str):
            self.problem(path, "expected a prompt key")
            return None
        if key not in self.prompt_keys:
            self.problem(path, f"missing prompt {key!r} (not in the prompts file)")
            return None
        return key

    def transitions(self, raw: Any, path: str) -> tuple[Transition, ...]:
        if not isinstance(raw, list):
            self.problem(path, "expected a list of transitions")
            return ()
        result: list[Transition] = []
        for i, item in enumerate(raw):
            tpath = f"{path}[{i}]"
            if not isinstance(item, dict):
                self.problem(tpath, "expected a mapping (intent/dtmf/event, when, do, say, goto)")
                continue
            for key in item:
                if key not in {"intent", "dtmf", "event", "when", "do", "say", "goto", "repeat"}:
                    self.problem(f"{tpath}.{key}", "unknown key")
            triggers = [k for k in ("intent", "dtmf", "event") if k in item]
            if len(triggers) != 1:
                self.problem(tpath, "a transition has exactly one trigger: intent, dtmf or event")
                continue
            intents: tuple[str, ...] = ()
            if "intent" in item:
                raw_intents = (
                    item["intent"] if isinstance(item["intent"], list) else [item["intent"]]
                )
                intents = tuple(str(x) for x in raw_intents)
                for j, intent in enumerate(intents):
                    if intent != "any" or len(intents) > 1:
                        ipath = (
                            f"{tpath}.intent"
                            if len(raw_intents) == 1 and not isinstance(item["intent"], list)
                            else f"{tpath}.intent[{j}]"
                        )
                        self.intent(intent, ipath)
            dtmf = None
            if "dtmf" in item:
                dtmf = str(item["dtmf"])
                if dtmf != "any" and not re.fullmatch(r"[0-9*#]+", dtmf):
                    self.problem(f"{tpath}.dtmf", "expected keys 0-9 * # or `any`")
            event = None
            if "event" in item:
                event = str(item["event"])
                if event not in EVENTS:
                    self.problem(f"{tpath}.event", f"unknown event (one of {', '.join(EVENTS)})")
            goto = item.get("goto")
            repeat = bool(item.get("repeat", False))
            if goto is None and not repeat:
                self.problem(tpath, "needs `goto: state` or `repeat: true`")
            if goto is not None:
                goto = str(goto)
                if goto not in self.state_names:
                    self.problem(f"{tpath}.goto", f"unknown state {goto!r}")
            result.append(
                Transition(
                    intents=intents,
                    dtmf=dtmf,
                    event=event,
                    when=self.conditions(item.get("when") or [], f"{tpath}.when"),
                    do=self.steps(item.get("do") or [], f"{tpath}.do"),
                    say=tuple(
                        s.prompt for s in self.say_items(item.get("say") or [], f"{tpath}.say")
                    ),
                    goto=goto,
                    repeat=repeat,
                    path=tpath,
                )
            )
        return tuple(result)

    def branches(self, raw: Any, path: str) -> tuple[Branch, ...]:
        if not isinstance(raw, list):
            self.problem(path, "expected a list of {when, goto}")
            return ()
        result: list[Branch] = []
        for i, item in enumerate(raw):
            bpath = f"{path}[{i}]"
            if not isinstance(item, dict) or "goto" not in item:
                self.problem(bpath, "expected {when: [...], goto: state}")
                continue
            for key in item:
                if key not in {"when", "goto"}:
                    self.problem(f"{bpath}.{key}", "unknown key")
            goto = str(item["goto"])
            if goto not in self.state_names:
                self.problem(f"{bpath}.goto", f"unknown state {goto!r}")
            result.append(
                Branch(self.conditions(item.get("when") or [], f"{bpath}.when"), goto, bpath)
            )
        return tuple(result)

    def conditions(self, raw: Any, path: str) -> tuple[Condition, ...]:
        if not isinstance(raw, list):
            self.problem(path, "expected a list of conditions")
            return ()
        result: list[Condition] = []
        for i, item in enumerate(raw):
            cpath = f"{path}[{i}]"
            if not isinstance(item, dict) or len(item) != 1:
                self.problem(cpath, f"a condition is one of: {', '.join(CONDITION_KEYS)}")
                continue
            ((op, arg),) = item.items()
            if op not in CONDITION_KEYS:
                self.problem(
                    f"{cpath}.{op}", f"unknown condition (one of {', '.join(CONDITION_KEYS)})"
                )
                continue
            if op in {"present", "absent", "is", "not", "matches_document"}:
                ref = self.ref(arg, f"{cpath}.{op}")
                if ref is not None:
                    result.append(Condition(op, (ref,)))
            else:
                if not isinstance(arg, list) or len(arg) != 2:
                    self.problem(f"{cpath}.{op}", "expected [left, right]")
                    continue
                left = self.ref(arg[0], f"{cpath}.{op}[0]")
                right = self.operand(arg[1], f"{cpath}.{op}[1]")
                if left is not None and right is not None:
                    result.append(Condition(op, (left, right)))
        return tuple(result)

    def steps(self, raw: Any, path: str) -> tuple[Step, ...]:
        if not isinstance(raw, list):
            self.problem(path, "expected a list of actions")
            return ()
        result: list[Step] = []
        for i, item in enumerate(raw):
            spath = f"{path}[{i}]"
            if isinstance(item, str):
                item = {item: {}}
            if not isinstance(item, dict) or len(item) != 1:
                self.problem(spath, f"an action is one of: {', '.join(ACTION_KEYS)}")
                continue
            ((op, arg),) = item.items()
            if op not in ACTION_KEYS:
                self.problem(f"{spath}.{op}", f"unknown action (one of {', '.join(ACTION_KEYS)})")
                continue
            args: list[tuple[str, Operand]] = []
            if op == "set":
                if not isinstance(arg, dict) or not arg:
                    self.problem(f"{spath}.set", "expected {slot_name: reference or value}")
                    continue
                for slot, value in arg.items():
                    operand = self.operand(value, f"{spath}.set.{slot}")
                    if operand is not None:
                        self.slots_written.add(str(slot))
                        args.append((str(slot), operand))
            elif op in {"clear", "increment"}:
                names = arg if isinstance(arg, list) else [arg]
                for name in names:
                    if not isinstance(name, str):
                        self.problem(f"{spath}.{op}", "expected slot names")
                        continue
                    self.slots_written.add(name)
                    args.append((name, True))
            elif op == "flag":
                if arg not in FLAGS:
                    self.problem(f"{spath}.flag", f"unknown flag (one of {', '.join(FLAGS)})")
                    continue
                args.append(("flag", str(arg)))
            elif op == "disposition":
                disposition = self.disposition(arg, f"{spath}.disposition")
                if disposition is None:
                    continue
                args.append(("code", disposition.value))
            elif arg not in (None, {}, True):
                self.problem(f"{spath}.{op}", "takes no arguments ({} or nothing)")
            result.append(Step(op, tuple(args)))
        return tuple(result)

    def ref(self, raw: Any, path: str) -> Ref | None:
        if not isinstance(raw, str) or "." not in raw:
            if raw == "today":
                return Ref("today", "")
            self.problem(path, "expected a reference like entity.amount or slot.promise_date")
            return None
        namespace, name = raw.split(".", 1)
        allowed: dict[str, tuple[str, ...] | None] = {
            "entity": ENTITY_FIELDS,
            "limits": LIMIT_FIELDS,
            "debt": DEBT_FIELDS,
            "call": CALL_FIELDS,
            "settings": tuple(self.settings),
            "slot": None,
        }
        if namespace not in allowed:
            self.problem(path, f"unknown namespace {namespace!r} (one of {', '.join(allowed)})")
            return None
        names = allowed[namespace]
        if names is not None and name not in names:
            self.problem(path, f"unknown {namespace} field {name!r} (one of {', '.join(names)})")
            return None
        if namespace == "slot":
            self.slot_reads.append((name, path))
        return Ref(namespace, name)

    def operand(self, raw: Any, path: str) -> Operand | None:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float):
            try:
                return Decimal(str(raw))
            except InvalidOperation:
                self.problem(path, "not a number")
                return None
        if isinstance(raw, str) and ("." in raw or raw == "today") and " " not in raw:
            return self.ref(raw, path)
        if isinstance(raw, str):
            return raw
        self.problem(path, "expected a reference, a number, text or true/false")
        return None

    def intent(self, name: str, path: str) -> None:
        if name not in {i.value for i in Intent}:
            self.problem(
                path, f"unknown intent {name!r} (one of {', '.join(i.value for i in Intent)})"
            )

    def disposition(self, raw: Any, path: str) -> Disposition | None:
        try:
            return Disposition(str(raw))
        except ValueError:
            self.problem(
                path,
                f"unknown disposition {raw!r} (one of {', '.join(d.value for d in Disposition)})",
            )
            return None

    def positive_int(self, raw: Any, path: str) -> int:
        if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
            self.problem(path, "expected a whole number ≥ 1")
            return 3
        return raw

    # -- whole-graph checks

    def check_graph(self, plan: Dialplan, default_events: set[str]) -> None:
        edges = _edges(plan)
        seen = {plan.start}
        queue = deque([plan.start])
        while queue:
            current = queue.popleft()
            for target, _sets_rp in edges.get(current, []):
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
        for name in plan.states:
            if name not in seen:
                self.problem(f"states.{name}", f"unreachable from start state {plan.start!r}")
        for name, state in plan.states.items():
            if state.listen is not None:
                handled = {t.event for t in state.on} | default_events
                for event in ("max_no_input", "max_no_match"):
                    if event not in handled:
                        self.problem(
                            f"states.{name}.on",
                            f"no `event: {event}` transition here or in defaults.on: "
                            "the call would have no way out after repeated failures",
                        )
        self.check_disclosure(plan, edges)

    def check_disclosure(self, plan: Dialplan, edges: dict[str, list[tuple[str, bool]]]) -> None:
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
            for t in (*state.on, *(plan.default_on if state.listen else ())):
                if not _sets_right_party(t.do):
                    said.extend((f"{t.path}.say", key) for key in t.say)
            for path, key in said:
                prompt = plan.prompts.get(key)
                if prompt is not None and prompt.discloses:
                    self.problem(
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
        transitions = list(state.on)
        if state.listen is not None:
            transitions.extend(plan.default_on)
        for t in transitions:
            if t.goto:
                out.append((t.goto, _sets_right_party(t.do)))
        for b in state.next:
            out.append((b.goto, False))
        edges[name] = out
    return edges
