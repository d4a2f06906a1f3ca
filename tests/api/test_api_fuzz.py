"""Schemathesis over every operation, with each role's key and without one.

Every check schemathesis has runs on every generated request; a server error or an
answer that breaks the published schema fails the suite. The example count is kept
small so this stays a unit of the suite (``bench/fuzz_api.py`` runs the long version).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from api_world import open_world, populate

from api.fuzzing import fuzz_operations
from voicebot.storage.db import upgrade

EXAMPLES = 6


@pytest.mark.slow
def test_every_operation_holds_its_schema_for_every_role(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fuzz.sqlite3'}"
    upgrade(url)
    for world in open_world(url):
        populate(world)
        world.client.app.state.key_throttle.per_minute = 0  # valid keys only; tested apart
        keys = {role: world.keys[role] for role in ("admin", "manager", "auditor", "agent")}
        report = fuzz_operations(world.client.app, keys, max_examples=EXAMPLES)
        assert report.operations >= 25, report.summary()
        assert report.failures == [], report.summary()
