"""The outbox reaches a real receiver on loopback: backoff, restarts, exactly-once per key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from conftest import SECRET, write_outcomes
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from webhook_receiver import Receiver

from voicebot.storage import models as m
from voicebot.webhooks.delivery import Backoff, backlog, deliver_due, replay

VOICEBOT = Path(sys.executable).parent / "voicebot"


def outbox(sessions: sessionmaker[Session]) -> list[m.OutboxEvent]:
    with sessions() as s:
        return list(s.scalars(select(m.OutboxEvent).order_by(m.OutboxEvent.id)))


def test_failures_back_off_exponentially_then_deliver(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    write_outcomes(sessions, debtors=1)  # one PTP call: call.completed + promise.created
    keys = {e.idempotency_key for e in outbox(sessions)}
    assert keys == {"call:1", "promise:1"}
    receiver.script = ["500", "500", "500", "500"]
    backoff = Backoff(base_seconds=10, max_seconds=3600)
    start = datetime.now(UTC)
    with httpx.Client(timeout=2) as client:
        first = deliver_due(
            sessions,
            url=receiver.url,
            secret=SECRET,
            now=start,
            http_client=client,
            backoff=backoff,
        )
        assert set(first.failed) == keys and not first.delivered
        assert all("HTTP 500" in e.last_error and e.attempts == 1 for e in outbox(sessions))
        assert {e.next_attempt_at for e in outbox(sessions)} == {start + timedelta(seconds=10)}
        # Not due yet: nothing is sent.
        early = deliver_due(
            sessions,
            url=receiver.url,
            secret=SECRET,
            now=start + timedelta(seconds=9),
            http_client=client,
            backoff=backoff,
        )
        assert not early.failed and not early.delivered and receiver.requests == 2
        second = deliver_due(
            sessions,
            url=receiver.url,
            secret=SECRET,
            now=start + timedelta(seconds=10),
            http_client=client,
            backoff=backoff,
        )
        assert set(second.failed) == keys
        assert {e.next_attempt_at for e in outbox(sessions)} == {start + timedelta(seconds=30)}
        # The receiver recovered (signed 30 s ahead of the clock: inside its 300 s tolerance).
        now = start + timedelta(seconds=30)
        third = deliver_due(
            sessions, url=receiver.url, secret=SECRET, now=now, http_client=client, backoff=backoff
        )
        assert set(third.delivered) == keys
    events = outbox(sessions)
    assert all(e.delivered_at == now and e.attempts == 3 and e.last_error == "" for e in events)
    assert receiver.processed == {k: 1 for k in keys}
    assert receiver.bodies["promise:1"]["data"]["amount"] == 500000
    assert receiver.bodies["call:1"]["type"] == "call.completed"
    with sessions() as s:
        assert backlog(s) == 0


def test_unreachable_receiver_is_a_recorded_failure(sessions: sessionmaker[Session]) -> None:
    write_outcomes(sessions, debtors=2)
    with httpx.Client(timeout=1) as client:
        report = deliver_due(
            sessions,
            url="http://127.0.0.1:9/nothing",
            secret=SECRET,
            now=datetime.now(UTC),
            http_client=client,
        )
    assert len(report.failed) == len(outbox(sessions)) == 4
    assert all(e.last_error.startswith("ConnectError") for e in outbox(sessions))
    assert all(e.delivered_at is None for e in outbox(sessions))


def test_replay_resends_with_the_same_key(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    write_outcomes(sessions, debtors=1)
    with httpx.Client(timeout=2) as client:
        deliver_due(
            sessions, url=receiver.url, secret=SECRET, now=datetime.now(UTC), http_client=client
        )
        with sessions.begin() as s:
            event_id = s.scalar(
                select(m.OutboxEvent.id).where(m.OutboxEvent.idempotency_key == "call:1")
            )
            assert event_id is not None
            replay(s, event_id=event_id, now=datetime.now(UTC))
        again = deliver_due(
            sessions, url=receiver.url, secret=SECRET, now=datetime.now(UTC), http_client=client
        )
    assert again.delivered == ["call:1"]
    assert receiver.received["call:1"] == 2
    assert receiver.processed["call:1"] == 1


def _sender(url: str, receiver: Receiver) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "VOICEBOT_DATABASE_URL": url,
        "VOICEBOT_WEBHOOKS__URL": receiver.url,
        "VOICEBOT_WEBHOOKS__SECRET": SECRET,
        "VOICEBOT_WEBHOOKS__TIMEOUT_SECONDS": "0.5",
        "VOICEBOT_WEBHOOKS__BACKOFF_BASE_SECONDS": "0.2",
        "VOICEBOT_WEBHOOKS__BACKOFF_MAX_SECONDS": "1",
        "VOICEBOT_WEBHOOKS__POLL_SECONDS": "0.1",
        "VOICEBOT_WEBHOOKS__CLAIM_BATCH": "2",
    }
    return subprocess.Popen(
        [str(VOICEBOT), "webhooks", "deliver"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_every_event_arrives_once_per_key_across_killed_senders(
    db_url: str, sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    # Outcomes are written while no sender runs: the outbox alone must carry them.
    write_outcomes(sessions, debtors=8)
    keys = {e.idempotency_key for e in outbox(sessions)}
    assert len(keys) == 14  # PTP, DNC, DISP: 2 events each; no answer: 1
    # 500s, then timeouts after the receiver already acted (its duplicates to drop), then OK.
    receiver.script = ["500"] * 5 + ["hang", "500", "hang", "ok", "500"]
    receiver.hang_seconds = 1.0

    first = _sender(db_url, receiver)
    assert _wait(lambda: receiver.requests >= 7, 30), first.stderr
    first.send_signal(signal.SIGKILL)  # dies mid-run, leases and all
    first.wait(10)
    pending = sum(1 for e in outbox(sessions) if e.delivered_at is None)
    assert pending > 0

    second = _sender(db_url, receiver)
    try:
        assert _wait(lambda: all(e.delivered_at for e in outbox(sessions)), 60)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(10) == 0  # a clean stop on SIGTERM

    assert receiver.bad_signatures == []
    assert set(receiver.processed) == keys
    assert all(count == 1 for count in receiver.processed.values())
    assert sum(receiver.received.values()) > len(keys)  # duplicates did arrive, and were dropped
    events = outbox(sessions)
    assert any(e.attempts > 1 for e in events)
    types = {body["type"] for body in receiver.bodies.values()}
    assert types == {"call.completed", "promise.created", "opt_out.recorded", "dispute.recorded"}
