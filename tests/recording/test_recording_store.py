"""The local store: sharded opaque keys, ranged reads, deletes, and no way out of its directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from recording_world import CALL_START

from voicebot.recording.store import LocalStore, new_key


def test_keys_are_sharded_by_day_and_uuid_and_say_nothing_else() -> None:
    keys = {new_key(CALL_START) for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert re.fullmatch(r"2026/11/23/([0-9a-f]{2})/\1[0-9a-f]{30}\.flac", key), key


def test_write_read_ranges_and_delete(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    key = new_key(CALL_START)
    path = store.spool_path(key)
    path.parent.mkdir(parents=True)
    body = bytes(range(256)) * 1000
    path.write_bytes(body)
    store.commit(key)
    assert store.size(key) == len(body)
    assert b"".join(store.read(key, 0, len(body) - 1)) == body
    assert b"".join(store.read(key, 70_000, 200_000)) == body[70_000:200_001]
    assert store.delete(key) and store.size(key) is None and not store.delete(key)


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs.flac", "a//b.flac", "a/./b.flac", ""])
def test_a_key_cannot_leave_the_store(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="not a recording key"):
        LocalStore(tmp_path).path(key)
