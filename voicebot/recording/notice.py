"""The recording notice's words come from ``prompts/es/grabacion.yaml``, never from code."""

from __future__ import annotations

from pathlib import Path

import yaml

NOTICE_PATH = Path(__file__).resolve().parents[2] / "prompts" / "es" / "grabacion.yaml"
NOTICE_PROMPT = "recording_notice"


def notice_text(company: str, path: Path = NOTICE_PATH) -> str:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    text = data.get(NOTICE_PROMPT) if isinstance(data, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{path}: needs a non-empty `{NOTICE_PROMPT}` prompt")
    return text.replace("{company}", company)
