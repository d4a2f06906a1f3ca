"""The S3 store against a loopback S3-compatible server (moto's), over real HTTP with boto3."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from recording_world import CALL_START, migrated_sessions, seed_attempt, stored_recording
from sqlalchemy import select

from voicebot.recording.retention import purge_expired
from voicebot.recording.store import S3Store, new_key
from voicebot.storage import models as m

moto_server = pytest.importorskip("moto.server", reason="pip install 'moto[server]' (dev extra)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # The loopback server accepts any credentials; boto3 still signs every request with them.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_upload_ranged_read_and_delete_over_the_wire(endpoint: str, tmp_path: Path) -> None:
    store = S3Store("recordings", spool=tmp_path / "spool", endpoint_url=endpoint)
    store.client.create_bucket(Bucket="recordings")
    key = new_key(CALL_START)
    spool = store.spool_path(key)
    spool.parent.mkdir(parents=True)
    body = bytes(range(256)) * 40
    spool.write_bytes(body)
    store.commit(key)
    assert not spool.exists()  # uploaded, the worker's disk is free again
    head = store.client.head_object(Bucket="recordings", Key=key)
    assert head["ContentType"] == "audio/flac"
    assert store.size(key) == len(body)
    assert b"".join(store.read(key, 1000, 1999)) == body[1000:2000]
    assert b"".join(store.read(key, len(body) - 10, len(body) - 1)) == body[-10:]
    assert store.delete(key) and store.size(key) is None
    assert not store.delete(key)


def test_recordings_purged_from_the_bucket(endpoint: str, tmp_path: Path) -> None:
    store = S3Store("recordings", spool=tmp_path / "spool", endpoint_url=endpoint)
    store.client.create_bucket(Bucket="recordings")
    sessions = migrated_sessions(tmp_path)
    recording_id = stored_recording(sessions, store, seed_attempt(sessions), retention_days=1)
    with sessions() as s:
        key = s.scalar(select(m.Recording.key).where(m.Recording.id == recording_id))
    assert key is not None and store.size(key)
    report = purge_expired(sessions, store, now=CALL_START.replace(year=2027), actor="t")
    assert report.purged == [recording_id] and store.size(key) is None
