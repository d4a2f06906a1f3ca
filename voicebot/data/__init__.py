"""The data files the package ships: default dialplan, prompts, calling rules, model manifest.

They live inside the package (package data in the wheel) so an installed ``voicebot`` finds
them from any working directory; nothing is looked up relative to a source checkout. Each
is only a default: settings point elsewhere (``VOICEBOT_DIALPLAN`` for a dialplan and, through
its ``prompts:`` key, its prompts). pip always installs wheels unpacked, so these are real
files whose paths may be stored (a campaign keeps its dialplan's path).
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
DIALPLANS_DIR = DATA_DIR / "dialplans"
DEFAULT_DIALPLAN = DIALPLANS_DIR / "cobranza_es.yaml"
INBOUND_DIALPLAN = DIALPLANS_DIR / "cobranza_entrante_es.yaml"
PROMPTS_DIR = DATA_DIR / "prompts"
JURISDICTION_RULES = DATA_DIR / "rules" / "jurisdictions.yaml"
RECORDING_RULES = DATA_DIR / "rules" / "recordings.yaml"
RECORDING_NOTICE = PROMPTS_DIR / "es" / "grabacion.yaml"
MESSAGE_TEXTS = {
    "es": PROMPTS_DIR / "es" / "mensajes.yaml",
    "en": PROMPTS_DIR / "en" / "messages.yaml",
}
ASR_MODEL_MANIFEST = DATA_DIR / "asr_models.json"
