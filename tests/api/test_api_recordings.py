"""GET /calls/{id}/recording: the whole file or a byte range, for the roles allowed, always audited."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_world import World, make_settings, open_world, populate
from sqlalchemy import select

from voicebot.config import RecordingsConfig
from voicebot.recording.store import LocalStore
from voicebot.storage import models as m

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "recording"))
from recording_world import Seeded, stored_recording


@pytest.fixture
def recorded(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[World, LocalStore]]:
    """The populated service, with a real FLAC recording for the PTP call and the transfer call."""
    settings = make_settings(sqlite_url, recordings=RecordingsConfig(dir=tmp_path / "rec"))
    store = LocalStore(tmp_path / "rec")
    for world in open_world(sqlite_url, settings):
        populate(world)
        with world.sessions() as s:
            rows = s.execute(
                select(m.CallRecord.id, m.CallRecord.attempt_id, m.CallRecord.campaign_id)
                .add_columns(m.CallRecord.debtor_id)
                .where(m.CallRecord.id.in_([world.calls["C1"], world.calls["C2"]]))
            ).all()
        for _, attempt_id, campaign_id, debtor_id in rows:
            stored_recording(world.sessions, store, Seeded(campaign_id, debtor_id, attempt_id))
        yield world, store


def _listens(world: World) -> list[m.AuditEntry]:
    with world.sessions() as s:
        return list(
            s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "recording_listened"))
        )


def test_whole_file_and_ranges_return_the_right_bytes(
    recorded: tuple[World, LocalStore],
) -> None:
    world, store = recorded
    call = world.calls["C1"]
    with world.sessions() as s:
        attempt = s.get_one(m.CallRecord, call).attempt_id
        row = s.scalar(select(m.Recording).where(m.Recording.attempt_id == attempt))
        assert row is not None
        data = store.path(row.key).read_bytes()
    detail = world.client.get(f"/calls/{call}", headers=world.auth("auditor")).json()
    assert detail["recording_url"].endswith(f"/calls/{call}/recording")
    url = f"/calls/{call}/recording"
    whole = world.client.get(url, headers=world.auth("auditor"))
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "audio/flac"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["etag"] == f'"{row.sha256}"'
    part = world.client.get(url, headers={**world.auth("auditor"), "Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == data[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    assert part.headers["content-length"] == "1000"
    tail = world.client.get(url, headers={**world.auth("manager"), "Range": "bytes=-64"})
    assert tail.status_code == 206 and tail.content == data[-64:]
    past = world.client.get(url, headers={**world.auth("manager"), "Range": f"bytes={len(data)}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{len(data)}"
    assert past.json()["error"]["code"] == "range_not_satisfiable"
    # Every listen is in the audit log, with who and which bytes (the refused range is not).
    listens = _listens(world)
    assert [(e.actor, e.reason) for e in listens] == [
        ("auditor-key", f"auditor fetched bytes 0-{len(data) - 1} of {len(data)}"),
        ("auditor-key", f"auditor fetched bytes 100-1099 of {len(data)}"),
        ("manager-key", f"manager fetched bytes {len(data) - 64}-{len(data) - 1} of {len(data)}"),
    ]
    assert all(e.attempt_id == attempt for e in listens)


def test_agents_hear_only_their_own_transfers(recorded: tuple[World, LocalStore]) -> None:
    world, _ = recorded
    accepted = world.client.post(
        f"/transfers/{world.transfer_id}/accept", headers=world.auth("agent")
    )
    assert accepted.status_code == 200, accepted.text
    own = world.client.get(f"/calls/{world.calls['C2']}/recording", headers=world.auth("agent"))
    assert own.status_code == 200 and own.content[:4] == b"fLaC"
    for call, key in ((world.calls["C1"], "agent"), (world.calls["C2"], "other_agent")):
        refused = world.client.get(f"/calls/{call}/recording", headers=world.auth(key))
        assert refused.status_code == 404
    assert world.client.get(f"/calls/{world.calls['C1']}/recording").status_code == 401
    assert [e.details["role"] for e in _listens(world)] == ["agent"]  # refusals hear nothing


def test_a_call_without_a_recording_is_404_and_a_purged_one_too(
    recorded: tuple[World, LocalStore],
) -> None:
    world, store = recorded
    assert (
        world.client.get(
            f"/calls/{world.calls['C3']}/recording", headers=world.auth("manager")
        ).status_code
        == 404
    )
    detail = world.client.get(f"/calls/{world.calls['C3']}", headers=world.auth("manager"))
    assert detail.json()["recording_url"] is None
    with world.sessions.begin() as s:
        attempt = s.get_one(m.CallRecord, world.calls["C1"]).attempt_id
        row = s.scalar(select(m.Recording).where(m.Recording.attempt_id == attempt))
        assert row is not None
        store.delete(row.key)
        row.status = "purged"
    gone = world.client.get(f"/calls/{world.calls['C1']}/recording", headers=world.auth("manager"))
    assert gone.status_code == 404
    assert _listens(world) == []


def test_info_gives_layout_hash_retention_and_turn_offsets_without_an_audit(
    recorded: tuple[World, LocalStore],
) -> None:
    world, store = recorded
    call = world.calls["C1"]
    with world.sessions.begin() as s:
        attempt = s.get_one(m.CallRecord, call).attempt_id
        row = s.scalar(select(m.Recording).where(m.Recording.attempt_id == attempt))
        assert row is not None
        row.timeline = [{"turn": 0, "speaker": "bot", "offset_ms": 0}]
        key, sha = row.key, row.sha256
    info = world.client.get(f"/calls/{call}/recording/info", headers=world.auth("auditor"))
    assert info.status_code == 200, info.text
    body = info.json()
    assert body["url"].endswith(f"/calls/{call}/recording")
    assert body["channels"] == ["bot", "far_end"] and body["sample_rate"] == 8000
    assert body["sha256"] == sha and body["size_bytes"] == store.size(key)
    assert body["duration_ms"] == 2000 and body["status"] == "complete"
    assert body["timeline"] == [{"turn": 0, "speaker": "bot", "offset_ms": 0}]
    refused = world.client.get(f"/calls/{call}/recording/info", headers=world.auth("agent"))
    assert refused.status_code == 404
    assert _listens(world) == []
