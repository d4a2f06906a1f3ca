"""The recording notice's words come from the packaged ``data/prompts/es/grabacion.yaml``, never from code."""

from __future__ import annotations

from pathlib import Path

import yaml

from voicebot.data import RECORDING_NOTICE

NOTICE_PATH = RECORDING_NOTICE
NOTICE_PROMPT = "recording_notice"


def notice_text(company: str, path: Path = NOTICE_PATH) -> str:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    text = data.get(NOTICE_PROMPT) if isinstance(data, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{path}: needs a non-empty `{NOTICE_PROMPT}` prompt")
    return text.replace("{company}", company)
