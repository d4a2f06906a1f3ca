"""The call brain: ``step(plan, state, event) -> (state, actions)``, no I/O, no clock.

The machine never speaks to a socket or reads the time: events carry their
instant, actions say what to do. So every branch of a dialplan is testable by
feeding events and reading actions, like h11 tests its protocol state machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from voicebot.actions import (
    Action,
    CallerIdentified,
    EndCall,
    Listen,
    MarkPhoneInvalid,
    OptOut,
    RecognitionHints,
    RecordDisposition,
    RecordPromise,
    Say,
    ScheduleCallback,
    Transfer,
    TransferContext,
)
from voicebot.dialog.callers import identified
from voicebot.dialog.claims import amend, settle
from voicebot.dialog.nlu import understand
from voicebot.dialog.plan import Condition, Dialplan, Operand, Ref, State, Step, Transition
from voicebot.dialog.prompts import render_prompt
from voicebot.dialog.understanding import Intent, Understanding
from voicebot.domain.context import INBOUND, CallContext
from voicebot.domain.outcome import CallOutcome, Disposition, Promise, Turn
from voicebot.events import (
    Answered,
    Dtmf,
    Event,
    Hangup,
    NoInput,
    TransferCompleted,
    TransferFailed,
    Utterance,
)

MAX_HOPS = 64  # `next` chains longer than this are a dialplan loop


class DisclosureViolation(RuntimeError):
    """A prompt revealing the debt was about to be said before right-party verification."""


class CallEnded(RuntimeError):
    """An event arrived after the call's outcome was settled."""


class DialplanLoop(RuntimeError):
    """`next` branches kept deciding without ever listening or ending."""


@dataclass(frozen=True, slots=True)
class _Input:
    """What the current event contributed: the entity.* namespace."""

    understanding: Understanding | None = None
    digits: str | None = None
    text: str = ""

    def get(self, name: str) -> Any:
        u = self.understanding
        if name == "digits":
            return self.digits or (u.digits if u else None)
        if name == "text":
            return self.text or None
        if name == "amount" and u is None and self.digits and self.digits.isdigit():
            return Decimal(self.digits)
        if u is None:
            return None
        if name == "intent":
            return u.intent.value
        value = getattr(u, name)
        return None if value is False else value


@dataclass(frozen=True, slots=True)
class CallState:
    node: str
    context: CallContext
    started_at: datetime
    slots: dict[str, Any] = field(default_factory=dict)
    no_input: int = 0
    no_match: int = 0
    right_party: bool = False
    disclosed: bool = False
    disposition: Disposition | None = None
    promise: Promise | None = None
    callback_at: datetime | None = None
    transfer_reason: str | None = None
    opt_out: bool = False
    phone_invalid: bool = False
    dispute_reason: str | None = None
    paid_info: str | None = None
    promise_attempts: tuple[str, ...] = ()
    transcript: tuple[Turn, ...] = ()
    listening: Listen | None = None
    outcome: CallOutcome | None = None
    held: _Input | None = None  # an utterance kept by `hold_claim` for a `resume_held` state
    identified: bool = False  # the debtor is known (outbound: always); verification is apart

    @property
    def ended(self) -> bool:
        return self.outcome is not None


def start(plan: Dialplan, context: CallContext, at: datetime) -> tuple[CallState, list[Action]]:
    """The call was answered: enter the plan's start state.

    The plan's settings are the defaults; the context's (campaign) settings
    override them, and a name the plan does not declare is rejected.
    """
    settings = plan.with_settings(_applicable(plan, context)).settings
    context = replace(context, settings=settings)
    known = context.direction != INBOUND or bool(context.debtor_ref or context.debtor.full_name)
    state = CallState(node=plan.start, context=context, started_at=at, identified=known)
    actions: list[Action] = []
    if known and context.direction == INBOUND:
        actions.append(CallerIdentified(context.debtor_ref))
    state = _enter(plan, state, plan.start, at, _Input(), actions)
    return state, actions


def _applicable(plan: Dialplan, context: CallContext) -> dict[str, bool | int | str]:
    """The context's settings for this plan. An inbound call runs on the caller's campaign
    terms, written for the campaign's (outbound) plan: names this plan lacks do not apply."""
    if context.direction != INBOUND:
        return dict(context.settings)
    return {k: v for k, v in context.settings.items() if k in plan.settings}


def step(plan: Dialplan, state: CallState, event: Event) -> tuple[CallState, list[Action]]:
    """Feed one event; get the new state and what to do now."""
    if state.ended:
        raise CallEnded(f"call already ended in state {state.node!r}")
    actions: list[Action] = []
    match event:
        case Answered():
            return state, actions
        case Hangup(at=at):
            return _finish(plan, state, at, None, actions, hung_up=True), actions
        case Utterance(at=at, text=text, confidence=confidence, intent=hinted):
            understanding = _understand(text, hinted, state.context, at)
            state = replace(
                state,
                transcript=(
                    *state.transcript,
                    Turn(at, "debtor", text, understanding.intent.value, confidence),
                ),
                slots={**state.slots, "last_text": text},
            )
            inp = _Input(understanding=understanding, text=text)
            transition = _match(plan, state, inp, intent=understanding.intent.value)
            if transition is None:
                return _no_match(plan, state, at, inp, actions), actions
            return _follow(plan, state, transition, at, inp, actions), actions
        case Dtmf(at=at, digits=digits):
            state = replace(state, transcript=(*state.transcript, Turn(at, "debtor", f"#{digits}")))
            inp = _Input(digits=digits, text="")
            transition = _match(plan, state, inp, dtmf=digits)
            if transition is None:
                return _no_match(plan, state, at, inp, actions), actions
            return _follow(plan, state, transition, at, inp, actions), actions
        case NoInput(at=at):
            node = plan.states[state.node]
            transition = _event_transition(plan, state, "no_input", _Input())
            if transition is not None:
                return _follow(plan, state, transition, at, _Input(), actions), actions
            count = state.no_input + 1
            if count >= plan.max_no_input:
                transition = _event_transition(plan, state, "max_no_input", _Input())
                assert transition is not None, (
                    "validated: every listening state handles max_no_input"
                )
                return _follow(plan, state, transition, at, _Input(), actions), actions
            state = replace(state, no_input=count)
            prefix = (plan.no_input_prompt,) if plan.no_input_prompt else ()
            return _reprompt(plan, state, node, at, prefix, actions), actions
        case TransferFailed(at=at, reason=reason):
            transition = _event_transition(plan, state, "transfer_failed", _Input())
            assert transition is not None, "validated: every transfer state handles transfer_failed"
            state = replace(state, slots={**state.slots, "transfer_failure": reason})
            return _follow(plan, state, transition, at, _Input(), actions), actions
        case TransferCompleted(at=at):
            transition = _event_transition(plan, state, "transfer_completed", _Input())
            if transition is not None:
                return _follow(plan, state, transition, at, _Input(), actions), actions
            return _finish(plan, state, at, Disposition.XFER, actions), actions
    raise TypeError(f"not a dialog event: {event!r}")


# ---------------------------------------------------------------- internals


def _understand(text: str, hinted: str | None, ctx: CallContext, at: datetime) -> Understanding:
    zone = ZoneInfo(ctx.debtor.timezone)
    understood = understand(text, today=ctx.today, now=at.astimezone(zone), tz=ctx.debtor.timezone)
    if understood.share is not None and understood.amount is None:
        # "la mitad" is an amount once the balance is known.
        share = ctx.debtor.total_due * understood.share
        understood = replace(understood, amount=share.quantize(Decimal(1), rounding=ROUND_CEILING))
    if hinted is not None:
        return replace(understood, intent=Intent(hinted))
    return understood


def _match(
    plan: Dialplan,
    state: CallState,
    inp: _Input,
    *,
    intent: str | None = None,
    dtmf: str | None = None,
) -> Transition | None:
    node = plan.states[state.node]
    if node.listen is None:
        return None
    candidates = plan.transitions(node)
    for catch_all in (False, True):
        for t in candidates:
            if t.is_catch_all != catch_all or t.event is not None:
                continue
            heard = intent is not None and (t.intents == ("any",) or intent in t.intents)
            keyed = dtmf is not None and t.dtmf is not None and t.dtmf in ("any", dtmf)
            if (heard or keyed) and _holds(t.when, state, inp):
                return t
    return None


def _event_transition(
    plan: Dialplan, state: CallState, event: str, inp: _Input
) -> Transition | None:
    node = plan.states[state.node]
    for t in plan.transitions(node):
        if t.event == event and _holds(t.when, state, inp):
            return t
    return None


def _no_match(
    plan: Dialplan, state: CallState, at: datetime, inp: _Input, actions: list[Action]
) -> CallState:
    count = state.no_match + 1
    if count >= plan.max_no_match:
        transition = _event_transition(plan, state, "max_no_match", inp)
        assert transition is not None, "validated: every listening state handles max_no_match"
        return _follow(plan, state, transition, at, inp, actions)
    state = replace(state, no_match=count)
    prefix = (plan.no_match_prompt,) if plan.no_match_prompt else ()
    return _reprompt(plan, state, plan.states[state.node], at, prefix, actions)


def _reprompt(
    plan: Dialplan,
    state: CallState,
    node: State,
    at: datetime,
    prefix: tuple[str, ...],
    actions: list[Action],
) -> CallState:
    keys = (
        [*prefix, node.reprompt] if node.reprompt else [*prefix, *_say_keys(node, state, _Input())]
    )
    for key in keys:
        state = _say(plan, state, key, at, actions)
    return _listen(state, node, actions)


def _follow(
    plan: Dialplan,
    state: CallState,
    t: Transition,
    at: datetime,
    inp: _Input,
    actions: list[Action],
) -> CallState:
    state = _run_steps(plan, state, t.do, at, inp, actions)
    for key in t.say:
        state = _say(plan, state, key, at, actions)
    if state.ended:
        return state
    if t.repeat:
        node = plan.states[state.node]
        return _reprompt(plan, state, node, at, (), actions)
    assert t.goto is not None
    return _enter(plan, state, t.goto, at, inp, actions)


def _enter(
    plan: Dialplan, state: CallState, name: str, at: datetime, inp: _Input, actions: list[Action]
) -> CallState:
    for _hop in range(MAX_HOPS):
        node = plan.states[name]
        state = replace(state, node=name, no_input=0, no_match=0, listening=None)
        state = _run_steps(plan, state, node.do, at, inp, actions)
        if state.ended:
            return state
        for key in _say_keys(node, state, inp):
            state = _say(plan, state, key, at, actions)
        if node.end:
            return _finish(plan, state, at, node.end_disposition, actions)
        if node.transfer_reason is not None:
            reason = node.transfer_reason
            state = replace(state, transfer_reason=reason)
            actions.append(
                Transfer(
                    reason, _transfer_context(state, reason), timeout_s=node.transfer_timeout_s
                )
            )
            return state
        if node.listen is not None:
            if node.resume_held and state.held is not None:
                return _resume_held(plan, state, at, actions)
            return _listen(state, node, actions)
        name = next(b.goto for b in node.next if _holds(b.when, state, inp))
    raise DialplanLoop(f"more than {MAX_HOPS} `next` hops without listening, from {state.node!r}")


def _say_keys(node: State, state: CallState, inp: _Input) -> list[str]:
    return [item.prompt for item in node.say if _holds(item.when, state, inp)]


def _listen(state: CallState, node: State, actions: list[Action]) -> CallState:
    assert node.listen is not None
    spec = node.listen
    listen = Listen(
        mode=spec.mode,
        timeout_s=spec.timeout_s,
        hints=RecognitionHints(spec.hints.phrases, spec.hints.keywords, spec.hints.expect),
        max_digits=spec.max_digits,
    )
    actions.append(listen)
    return replace(state, listening=listen)


def _say(
    plan: Dialplan, state: CallState, key: str, at: datetime, actions: list[Action]
) -> CallState:
    prompt = plan.prompts[key]
    if prompt.discloses and not state.right_party:
        raise DisclosureViolation(
            f"prompt {key!r} discloses the debt in state {state.node!r} before right-party verification"
        )
    text = render_prompt(prompt, state.context, state.slots, at)
    actions.append(Say(key, text, discloses_debt=prompt.discloses))
    return replace(
        state,
        disclosed=state.disclosed or prompt.discloses,
        transcript=(*state.transcript, Turn(at, "bot", text, prompt=key)),
    )


def _finish(
    plan: Dialplan,
    state: CallState,
    at: datetime,
    disposition: Disposition | None,
    actions: list[Action],
    *,
    hung_up: bool = False,
) -> CallState:
    final = settle(state.disposition, disposition) if disposition else state.disposition
    if final is None:
        final = Disposition.DROP if hung_up or not state.right_party else Disposition.RPC
    outcome = CallOutcome(
        disposition=final,
        started_at=state.started_at,
        ended_at=at,
        promise=state.promise,
        callback_at=state.callback_at,
        transfer_reason=state.transfer_reason,
        right_party_contacted=state.right_party,
        disclosure_made=state.disclosed,
        opt_out=state.opt_out,
        phone_invalid=state.phone_invalid,
        dispute_reason=state.dispute_reason,
        paid_info=state.paid_info,
        final_state=state.node,
        transcript=state.transcript,
        direction=state.context.direction,
        caller_id=state.context.caller_id,
    )
    if disposition is not None and final != state.disposition:
        actions.append(RecordDisposition(final))
    actions.append(EndCall(outcome))
    return replace(state, disposition=final, outcome=outcome, listening=None)


# ---------------------------------------------------------------- conditions


def _value(ref: Operand, state: CallState, inp: _Input) -> Any:
    if not isinstance(ref, Ref):
        return ref
    ctx = state.context
    match ref.namespace:
        case "entity":
            return inp.get(ref.name)
        case "slot":
            return state.slots.get(ref.name)
        case "limits":
            if ref.name == "latest_date":
                return ctx.today + timedelta(days=ctx.limits.max_days_ahead)
            return getattr(ctx.limits, ref.name)
        case "debt":
            return _debt_value(ctx, ref.name)
        case "settings":
            return ctx.settings.get(ref.name)
        case "call":
            return _call_value(state, ref.name)
        case "today":
            return ctx.today
    raise KeyError(ref)


def _debt_value(ctx: CallContext, name: str) -> Any:
    match name:
        case "total":
            return ctx.debtor.total_due
        case "pending_promise":
            return ctx.pending_promise.due if ctx.pending_promise else None
        case "pending_callback":
            return ctx.pending_callback
    return _days_past_due(ctx)


def _call_value(state: CallState, name: str) -> Any:
    match name:
        case "right_party":
            return state.right_party
        case "inbound":
            return state.context.direction == INBOUND
        case "caller_match":
            return state.context.caller_match
        case "identified":
            return state.identified
    return state.disclosed


def _days_past_due(ctx: CallContext) -> int:
    return max((d.days_past_due for d in ctx.debtor.debts), default=0)


def _holds(conditions: tuple[Condition, ...], state: CallState, inp: _Input) -> bool:
    return all(_check(c, state, inp) for c in conditions)


def _check(c: Condition, state: CallState, inp: _Input) -> bool:
    values = [_value(arg, state, inp) for arg in c.args]
    match c.op:
        case "present":
            return values[0] not in (None, "", False)
        case "absent":
            return values[0] in (None, "", False)
        case "is":
            return bool(values[0])
        case "not":
            return not values[0]
        case "matches_document":
            return _matches_document(values[0], state)
        case "within_days":
            day, days = values
            if not isinstance(day, date) or days is None:
                return False
            if isinstance(day, datetime):
                day = day.date()
            return state.context.today <= day <= state.context.today + timedelta(days=int(days))
    left, right = values
    if left is None or right is None:
        return False
    left, right = _comparable(left), _comparable(right)
    match c.op:
        case "lt":
            return bool(left < right)
        case "le":
            return bool(left <= right)
        case "gt":
            return bool(left > right)
        case "ge":
            return bool(left >= right)
        case "eq":
            return bool(left == right)
    raise ValueError(f"unknown condition {c.op}")


def _comparable(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def _matches_document(digits: Any, state: CallState) -> bool:
    document = "".join(ch for ch in state.context.debtor.document_id if ch.isdigit())
    count = int(state.context.settings.get("document_digits", 4))
    if not isinstance(digits, str) or len(document) < count:
        return False
    given = "".join(ch for ch in digits if ch.isdigit())
    return len(given) == count and given == document[-count:]


# ---------------------------------------------------------------- actions


def _run_steps(
    plan: Dialplan,
    state: CallState,
    steps: tuple[Step, ...],
    at: datetime,
    inp: _Input,
    actions: list[Action],
) -> CallState:
    for s in steps:
        state = _run_step(plan, state, s, at, inp, actions)
    return state


def _run_step(
    plan: Dialplan, state: CallState, s: Step, at: datetime, inp: _Input, actions: list[Action]
) -> CallState:
    ctx = state.context
    match s.op:
        case "set":
            slots = dict(state.slots)
            for name, operand in s.args:
                value = _value(operand, state, inp)
                if value is not None:
                    slots[name] = value
            return replace(state, slots=slots)
        case "clear":
            return replace(
                state, slots={k: v for k, v in state.slots.items() if k not in dict(s.args)}
            )
        case "increment":
            slots = dict(state.slots)
            for name, _ in s.args:
                slots[name] = int(slots.get(name, 0)) + 1
            return replace(state, slots=slots)
        case "flag":
            return replace(state, right_party=True)
        case "disposition":
            return _settle(state, Disposition(str(dict(s.args)["code"])), actions)
        case "record_promise":
            return _record_promise(state, actions)
        case "schedule_callback":
            when = _callback_time(state, at)
            actions.append(ScheduleCallback(when))
            # Kept apart from slot.callback_at (what the debtor said), so a callback settled
            # at the default hour the moment it is asked for still lets the plan ask when.
            slots = {**state.slots, "callback_scheduled": when}
            state = replace(state, callback_at=when, slots=slots)
            return _settle(state, Disposition.CB, actions)
        case "opt_out":
            actions.append(OptOut())
            return _settle(replace(state, opt_out=True), Disposition.DNC, actions)
        case "mark_phone_invalid":
            actions.append(MarkPhoneInvalid())
            return _settle(replace(state, phone_invalid=True), Disposition.WPC, actions)
        case "record_dispute":
            said = str(state.slots.get("last_text") or "").strip()
            reason = amend(state.dispute_reason, said) or "sin detalle"
            return _settle(replace(state, dispute_reason=reason), Disposition.DISP, actions)
        case "record_paid":
            return _settle(_record_paid(state, inp), Disposition.PAID, actions)
        case "hold_claim":
            slots = {**state.slots, "held_intent": inp.get("intent")}
            return replace(state, held=inp, slots=slots)
        case "identify":
            return _identify(plan, state, inp, actions)
        case "compute_offer":
            return _compute_offer(state, ctx)
        case "request_link":
            return _request_link(state, ctx, bool(dict(s.args)["accepted"]), actions)
        case "accept_offer":
            slots = dict(state.slots)
            if "offer_instalment_amount" in slots:
                slots["promise_amount"] = slots["offer_instalment_amount"]
                slots["promise_instalments"] = slots["offer_instalments"]
            return replace(state, slots=slots)
    raise ValueError(f"unknown action {s.op}")


def _identify(plan: Dialplan, state: CallState, inp: _Input, actions: list[Action]) -> CallState:
    """Find the caller by the whole document just given; one match only, or a failure counted.

    Identifying is not verifying: the plan decides what verification follows, and the
    disclosure guard still holds until ``flag: right_party``.
    """
    digits = inp.get("digits")
    directory = state.context.directory
    found = directory.by_document(digits) if directory and isinstance(digits, str) else ()
    if len(found) != 1:
        failures = int(state.slots.get("identify_failures", 0)) + 1
        return replace(state, slots={**state.slots, "identify_failures": failures})
    context = identified(state.context, found[0])
    settings = plan.with_settings(_applicable(plan, context)).settings
    actions.append(CallerIdentified(context.debtor_ref))
    return replace(state, context=replace(context, settings=settings), identified=True)


def _record_promise(state: CallState, actions: list[Action]) -> CallState:
    slots = state.slots
    amount = slots.get("promise_amount")
    due = slots.get("promise_date")
    if not isinstance(amount, Decimal) or not isinstance(due, date):
        raise ValueError("record_promise needs slot.promise_amount and slot.promise_date")
    instalments = int(slots.get("promise_instalments", 1))
    total = state.context.debtor.total_due
    covered = amount * instalments if instalments > 1 else amount
    partial = covered < total
    promise = Promise(
        amount=amount,
        currency=state.context.debtor.currency,
        due=due,
        instalments=instalments,
        partial=partial,
    )
    disposition = Disposition.PPTP if partial else Disposition.PTP
    actions.append(RecordPromise(promise))
    return _settle(replace(state, promise=promise), disposition, actions)


def _request_link(
    state: CallState, ctx: CallContext, accepted: bool, actions: list[Action]
) -> CallState:
    """The promise, amended with the debtor's answer; recorded again so a hang-up keeps it."""
    if state.promise is None:
        return state
    channel = str(ctx.settings.get("payment_link_channel", "none"))
    wanted = channel if accepted and channel in ("sms", "whatsapp") else "none"
    promise = replace(state.promise, link_requested=wanted)
    actions.append(RecordPromise(promise))
    return replace(state, promise=promise)


def _compute_offer(state: CallState, ctx: CallContext) -> CallState:
    """An instalment plan within the creditor's limits, sized to what the debtor offered.

    The fewest instalments whose amount does not exceed what the debtor said they
    can pay (or the creditor's maximum count), never below the minimum instalment.
    """
    total = ctx.debtor.total_due
    limits = ctx.limits
    offered = state.slots.get("promise_amount")
    wanted = state.slots.get("wanted_instalments")
    count = limits.max_instalments
    if isinstance(wanted, int) and wanted > 1:
        count = min(limits.max_instalments, wanted)
    elif isinstance(offered, Decimal) and offered > 0:
        count = min(limits.max_instalments, max(2, math.ceil(total / offered)))
    count = max(1, count)
    while count > 1 and limits.min_instalment and total / count < limits.min_instalment:
        count -= 1
    instalment = (total / count).quantize(Decimal(1), rounding=ROUND_CEILING)
    attempt = f"offered {count} x {instalment} {ctx.debtor.currency}"
    attempts = state.promise_attempts
    if attempts[-1:] != (attempt,):  # a plan checked, then offered, is one attempt
        attempts = (*attempts, attempt)
    return replace(
        state,
        slots={**state.slots, "offer_instalments": count, "offer_instalment_amount": instalment},
        promise_attempts=attempts,
    )


def _callback_time(state: CallState, at: datetime) -> datetime:
    """When to call back: what the debtor said, else the next day at the default hour."""
    zone = ZoneInfo(state.context.debtor.timezone)
    when = state.slots.get("callback_at")
    if isinstance(when, datetime):
        return when
    day = state.slots.get("callback_date")
    hour = int(state.context.settings.get("default_callback_hour", 10))
    clock = state.slots.get("callback_clock")
    clock = clock if isinstance(clock, time) else time(hour)
    if isinstance(day, date) and datetime.combine(day, clock, tzinfo=zone) > at:
        return datetime.combine(day, clock, tzinfo=zone)
    tomorrow = at.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(hour), tzinfo=zone)


def _transfer_context(state: CallState, reason: str) -> TransferContext:
    debtor = state.context.debtor
    verified = "verificado" if state.right_party else "NO verificado"
    summary = (
        f"{debtor.full_name} ({verified}); saldo {debtor.total_due} {debtor.currency}, "
        f"{_days_past_due(state.context)} días de mora; motivo: {reason}"
    )
    lines = tuple(f"{t.at.isoformat()} {t.speaker}: {t.text}" for t in state.transcript)
    return TransferContext(
        reason=reason,
        debtor_name=debtor.full_name,
        summary=summary,
        transcript=lines,
        promise_attempts=state.promise_attempts,
        turns=state.transcript,
        verified=state.right_party,
    )


# ---------------------------------------------------------------- claims settled as made


def _settle(state: CallState, disposition: Disposition, actions: list[Action]) -> CallState:
    """Record a claim's disposition now (a hang-up a second later keeps it), by precedence."""
    final = settle(state.disposition, disposition)
    if final != state.disposition:
        actions.append(RecordDisposition(final))
    return replace(state, disposition=final)


def _record_paid(state: CallState, inp: _Input) -> CallState:
    """Keep what the debtor said about the payment, with its date, channel and amount."""
    slots = dict(state.slots)
    for slot, entity in (
        ("paid_date", "date"),
        ("paid_channel", "channel"),
        ("paid_amount", "amount"),
    ):
        value = inp.get(entity)
        if value is not None:
            slots[slot] = value
    today = state.context.today
    paid_on = slots.get("paid_date")
    if isinstance(paid_on, date) and today < paid_on <= today + timedelta(days=7):
        # A payment already made is in the past: "el sábado" is the Saturday gone by.
        slots["paid_date"] = paid_on - timedelta(days=7)
    said = str(slots.get("last_text") or "").strip()
    details = []
    if isinstance(slots.get("paid_date"), date):
        details.append(f"fecha: {slots['paid_date'].isoformat()}")
    if slots.get("paid_channel"):
        details.append(f"medio: {slots['paid_channel']}")
    if isinstance(slots.get("paid_amount"), Decimal):
        details.append(f"valor: {slots['paid_amount']}")
    text = state.slots.get("paid_text")
    text = amend(text if isinstance(text, str) else None, said)
    slots["paid_text"] = text or ""
    info = " ".join(filter(None, [text, f"({', '.join(details)})" if details else ""])).strip()
    return replace(state, paid_info=info, slots=slots)


def _resume_held(
    plan: Dialplan, state: CallState, at: datetime, actions: list[Action]
) -> CallState:
    """Answer the held utterance here, as if just said; if nothing here takes it, listen."""
    held = state.held
    assert held is not None
    slots = {k: v for k, v in state.slots.items() if k != "held_intent"}
    state = replace(state, held=None, slots={**slots, "last_text": held.text})
    intent = held.understanding.intent.value if held.understanding else None
    transition = _match(plan, state, held, intent=intent, dtmf=None if intent else held.digits)
    if transition is None:
        node = plan.states[state.node]
        return _listen(state, node, actions)
    return _follow(plan, state, transition, at, held, actions)
