"""Fixtures for the NLU tests: the labeled dev set, kept beside the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def dev_set() -> Path:
    """A copy of ../shared/eval/nlu_dev.jsonl (reference date 2026-11-23), so CI has it."""
    return HERE / "nlu_dev.jsonl"
