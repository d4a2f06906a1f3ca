"""The prompts file a dialplan names: key → Spanish text (or ``{text, discloses}``).

Read here only to validate a plan against it: which variables each prompt uses and whether it
reveals the debt (a debt variable, a collection word, or ``discloses: true``).
"""

from __future__ import annotations

import re

from voicebot.dialog.plan import PROMPT_VARIABLES, VARIABLE_PATTERN, DialplanError, Problem, Prompt
from voicebot.dialog.plan_validation import Validation
from voicebot.dialog.yaml_loading import LineIndex, load_yaml

# Words that reveal a collection purpose even without a variable.
COLLECTION_WORDS = re.compile(
    r"\b(deudas?|mora|saldo|cobranza|cobro|adeuda|pagos?|pagar|cuotas?|abonos?|obligaci[oó]n vencida)\b",
    re.IGNORECASE,
)


def read_prompts(v: Validation, text: str, source: str) -> dict[str, Prompt]:
    """Each prompt's text, variables and whether it discloses the debt; problems go to ``v``."""
    if not text:
        return {}
    try:
        index = LineIndex.parse(text, source)
        data = load_yaml(text)
    except DialplanError as exc:
        v.problems.extend(exc.problems)
        return {}
    if not isinstance(data, dict):
        v.problems.append(Problem("<prompts>", f"{source}: expected a mapping key → text"))
        return {}
    prompts: dict[str, Prompt] = {}
    for key, value in data.items():
        discloses = False
        if isinstance(value, dict):
            discloses = bool(value.get("discloses", False))
            value = value.get("text")
        if not isinstance(value, str) or not value.strip():
            v.problems.append(
                Problem(f"<prompts>.{key}", f"{source}: prompt text missing", index.line(key))
            )
            continue
        variables = tuple(VARIABLE_PATTERN.findall(value))
        for var in variables:
            if var not in PROMPT_VARIABLES:
                v.problems.append(
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
            or bool(COLLECTION_WORDS.search(value))
        )
        prompts[str(key)] = Prompt(str(key), value.strip(), discloses, variables)
    return prompts


# -- plan
