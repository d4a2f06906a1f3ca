"""The prompts a call can say that depend only on the debtor and the day: rendered at claim time.

A prompt with the debtor's name or balance cannot be rendered at campaign launch, and
rendering it when the dialog first says it puts a TTS render on the debtor's wait (the
greeting, the disclosure). Everything such a prompt needs is known once the attempt is
claimed, so the runner renders these into the prompt cache before it dials; only prompts
that hang on what the debtor says in the call (a promised amount, a callback time) are
left to render on demand.
"""

from __future__ import annotations

from datetime import datetime

from voicebot.dialog.plan import Dialplan
from voicebot.dialog.prompts import render_prompt
from voicebot.domain.context import CallContext

# Variables whose value is fixed before the call starts: the debtor, the debt, the
# campaign's settings and the moment of the call.
KNOWN_AT_CLAIM = frozenset(
    {
        "greeting",
        "company",
        "callback_number",
        "debtor.full_name",
        "debtor.first_name",
        "debtor.treatment",
        "document_digits",
        "limits.min_payment",
        "limits.latest_date",
        "creditor",
        "debt.amount",
        "debt.days_past_due",
        "debt.product",
    }
)


def prompts_known_at_claim(plan: Dialplan, context: CallContext, at: datetime) -> list[str]:
    """Texts of the plan's per-call prompts that need nothing said in the call, the opening first.

    Static prompts are left out (rendered at launch). ``at`` is when the call is placed: a
    greeting rendered just before noon and said just after is a cache miss, rendered then.
    """
    texts: dict[str, None] = {}
    start = plan.states.get(plan.start)
    opening = [item.prompt for item in start.say] if start is not None else []
    keys = [*opening, *(key for key in plan.prompts if key not in opening)]
    for key in keys:
        prompt = plan.prompts.get(key)
        if prompt is not None and prompt.variables and set(prompt.variables) <= KNOWN_AT_CLAIM:
            texts[render_prompt(prompt, context, {}, at)] = None
    return list(texts)
