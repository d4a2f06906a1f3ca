"""Operations: health, readiness, metrics, CORS, PII-free logs, deliveries, the CLI (recordings: test_api_recordings)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from api_world import World, make_settings, open_world, populate
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, update

from api.app import create_app
from api.metrics import turn_latencies
from api.redaction import PiiFilter, mask_pii
from api.security import create_api_key
from voicebot.config import ApiConfig, SpeechConfig
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory, transaction

VOICEBOT = Path(sys.executable).parent / "voicebot"


def test_health_and_readiness_report_each_dependency(lite: World) -> None:
    assert lite.client.get("/health").json() == {"status": "ok"}
    ready = lite.client.get("/ready", headers=lite.auth("auditor"))
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert checks["database"] == {"ok": True, "backend": "sqlite"}
    assert checks["asr_model"]["ok"] is True and checks["asr_model"]["language"] == "ko"
    assert checks["carrier"] == {"ok": True, "carrier": "simulated"}


def test_readiness_fails_without_a_model_or_a_configured_carrier(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, speech=SpeechConfig(language="xx"), carrier="sip")
    with TestClient(create_app(settings)) as client:
        anonymous = client.get("/ready").json()
        response = client.get("/ready", headers={"X-API-Key": _ops_key(sqlite_url)})
    # Without a key: which checks fail, not why (no backend, no model error text).
    assert anonymous["checks"] == {
        "database": {"ok": True},
        "asr_model": {"ok": False},
        "carrier": {"ok": False},
    }
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["database"]["ok"] is True
    assert "no Vosk speech model for language 'xx'" in body["checks"]["asr_model"]["error"]
    assert body["checks"]["carrier"] == {
        "ok": False,
        "carrier": "sip",
        "error": "carrier 'sip' is not configured",
    }


def test_readiness_fails_when_the_database_is_unreachable() -> None:
    # A refused TCP port: what a PostgreSQL outage looks like from the API.
    settings = make_settings("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with TestClient(create_app(settings)) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {"ok": False}


def _ops_key(url: str) -> str:
    engine = make_engine(url)
    with transaction(session_factory(engine)) as s:
        key = create_api_key(s, name="ops", role="auditor", actor="test", now=datetime.now(UTC))[1]
    engine.dispose()
    return key


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_read_the_database_and_the_transcripts(lite: World) -> None:
    with lite.sessions.begin() as s:
        s.execute(
            update(m.CallAttempt)
            .where(m.CallAttempt.debtor_id == lite.debtors["C4"])
            .values(status="in_call")
        )
    lite.client.get("/calls", headers=lite.auth("auditor"))
    response = lite.client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    assert samples[("voicebot_calls_in_progress", ())] == 1
    for disposition in ("PTP", "RPC", "DNC", "WPC"):
        assert samples[("voicebot_attempts_total", (("disposition", disposition),))] == 1
    assert samples[("voicebot_webhook_backlog", ())] == 6  # 4 calls, 1 promise, 1 opt-out
    turns = samples[("voicebot_turn_latency_seconds_count", ())]
    assert turns >= 8  # every debtor turn the bot answered, from the stored transcripts
    key = (("method", "GET"), ("route", "/calls"), ("status", "200"))
    assert samples[("voicebot_http_requests_total", key)] == 1
    # A second scrape does not count the same transcripts again.
    again = _samples(lite.client.get("/metrics").text)
    assert again[("voicebot_turn_latency_seconds_count", ())] == turns


def test_cors_is_closed_by_default_and_open_only_to_listed_origins(sqlite_url: str) -> None:
    preflight = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "X-API-Key",
    }
    with TestClient(create_app(make_settings(sqlite_url))) as client:
        response = client.options("/campaigns", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
    settings = make_settings(sqlite_url, api=ApiConfig(cors_origins=["https://crm.example"]))
    with TestClient(create_app(settings)) as client:
        allowed = client.options(
            "/campaigns", headers={**preflight, "Origin": "https://crm.example"}
        )
        assert allowed.headers["access-control-allow-origin"] == "https://crm.example"
        refused = client.options("/campaigns", headers=preflight)
        assert "access-control-allow-origin" not in refused.headers


def test_turn_latency_is_the_wait_after_each_debtor_turn() -> None:
    transcript = [
        {"at": "2026-11-23T15:00:00+00:00", "speaker": "bot", "text": "hola"},
        {"at": "2026-11-23T15:00:04+00:00", "speaker": "debtor", "text": "sí"},
        {"at": "2026-11-23T15:00:04.750000+00:00", "speaker": "bot", "text": "gracias"},
        {"at": "2026-11-23T15:00:09+00:00", "speaker": "debtor", "text": "1234"},
        {"at": "2026-11-23T15:00:10.200000+00:00", "speaker": "bot", "text": "listo"},
        {"at": "2026-11-23T15:00:12+00:00", "speaker": "debtor", "text": "adiós"},
    ]
    assert turn_latencies(transcript) == [0.75, 1.2]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("dialing +573101234567 now", "dialing ***67 now"),
        ("GET /debtors?phone=%2B573101234567", "GET /debtors?phone=***67"),
        ("phone (305) 555-0100", "phone ***00"),
        ("cedula 52.111.234 verified", "cedula ***34 verified"),
        ("RUT 12.345.678-K", "RUT ***78"),
        ("attempt 42 of campaign 7 at 2026-11-23", "attempt 42 of campaign 7 at 2026-11-23"),
        ("127.0.0.1:51234 - GET /calls/12", "127.0.0.1:51234 - GET /calls/12"),
        ("tel. 310.123.4567", "tel. ***67"),
    ],
)
def test_personal_data_is_masked(text: str, masked: str) -> None:
    assert mask_pii(text) == masked


def test_log_records_are_masked_by_the_filter(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("voicebot.test_pii")
    logger.addFilter(PiiFilter())
    with caplog.at_level(logging.INFO, logger="voicebot.test_pii"):
        logger.info("debtor %s at %s", "80.222.345", "+573112345678")
    assert caplog.messages == ["debtor ***45 at ***78"]


def test_deliveries_can_be_inspected_and_replayed(lite: World) -> None:
    auditor, admin = lite.auth("auditor"), lite.auth("admin")
    pending = lite.client.get("/webhooks/deliveries", params={"status": "pending"}, headers=auditor)
    body = pending.json()
    assert body["total"] == 6
    types = {d["event_type"] for d in body["items"]}
    assert types == {"call.completed", "promise.created", "opt_out.recorded"}
    promise = lite.client.get(
        "/webhooks/deliveries", params={"event_type": "promise.created"}, headers=auditor
    ).json()["items"][0]
    assert promise["idempotency_key"].startswith("promise:")
    assert promise["payload"]["currency"] == "COP"
    with lite.sessions.begin() as s:
        event = s.get_one(m.OutboxEvent, promise["id"])
        event.delivered_at = event.created_at
    assert (
        lite.client.get(
            "/webhooks/deliveries", params={"status": "delivered"}, headers=auditor
        ).json()["total"]
        == 1
    )
    replayed = lite.client.post(f"/webhooks/deliveries/{promise['id']}/replay", headers=admin)
    assert replayed.status_code == 202
    assert replayed.json()["delivered_at"] is None
    assert replayed.json()["idempotency_key"] == promise["idempotency_key"]
    assert lite.client.get("/webhooks/deliveries/999999", headers=auditor).status_code == 404


@pytest.fixture
def cli_env(sqlite_url: str) -> Iterator[dict[str, str]]:
    yield {**os.environ, "VOICEBOT_DATABASE_URL": sqlite_url}


def test_cli_creates_a_key_shown_once(cli_env: dict[str, str], sqlite_url: str) -> None:
    made = subprocess.run(
        [str(VOICEBOT), "apikey", "create", "crm-sync", "--role", "manager"],
        env=cli_env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = made.stdout.strip()
    assert key.startswith("vbk_")
    assert "shown once" in made.stderr
    for world in open_world(sqlite_url):
        assert world.client.get("/campaigns", headers={"X-API-Key": key}).status_code == 200
        with world.sessions() as s:
            row = s.query(m.ApiKey).filter_by(name="crm-sync").one()
            assert row.role == "manager" and key not in row.key_hash
    bad = subprocess.run(
        [str(VOICEBOT), "apikey", "create", "x", "--role", "root"],
        env=cli_env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "unknown role 'root'" in bad.stderr


@pytest.fixture
def cached(sqlite_url: str) -> Iterator[World]:
    settings = make_settings(sqlite_url, api=ApiConfig(status_cache_seconds=600))
    for world in open_world(sqlite_url, settings):
        yield populate(world)


def test_campaign_status_is_cached_until_a_state_change(cached: World) -> None:
    path = f"/campaigns/{cached.campaign_id}/status"
    first = cached.client.get(path, headers=cached.auth("auditor")).json()
    with cached.sessions.begin() as s:
        s.add(m.CallAttempt(campaign_id=cached.campaign_id, debtor_id=cached.debtors["C1"]))
    again = cached.client.get(path, headers=cached.auth("auditor")).json()
    assert again == first  # same computation, same as_of
    cached.client.post(f"/campaigns/{cached.campaign_id}/pause", headers=cached.auth("manager"))
    fresh = cached.client.get(path, headers=cached.auth("auditor")).json()
    assert fresh["status"] == "paused"
    assert fresh["attempts_by_status"] == {"done": 4, "queued": 1}
    assert fresh["as_of"] > first["as_of"]


def test_uvicorn_access_log_lines_are_masked_and_still_formatted() -> None:
    from uvicorn.logging import AccessFormatter

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:51234", "GET", "/debtors?external_id=52111234", "1.1", 200),
        None,
    )
    PiiFilter().filter(record)
    line = AccessFormatter("%(client_addr)s %(request_line)s %(status_code)s").format(record)
    assert line == "127.0.0.1:51234 GET /debtors?external_id=***34 HTTP/1.1 200 OK"


def test_scrapes_are_answered_from_memory_with_bounded_labels(lite: World) -> None:
    statements: list[str] = []
    engine = lite.client.app.state.sessions.kw["bind"]

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    lite.client.get("/metrics")  # the first scrape reads the database
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(5):
            assert lite.client.get("/metrics").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statements == []
    for method in ("FOO", "BAR", "PROPFIND"):
        lite.client.request(method, "/calls", headers=lite.auth("auditor"))
    for path in ("/calls/123", "/calls/456", "/no/such/path", "/random-1", "/random-2"):
        lite.client.get(path, headers=lite.auth("auditor"))
    routes = {
        dict(labels)["route"]
        for name, labels in _samples(lite.client.get("/metrics").text)
        if name == "voicebot_http_requests_total"
    }
    assert "/calls/{call_id}" in routes and "unmatched" in routes
    assert not any(r.startswith(("/calls/1", "/calls/4", "/no", "/random")) for r in routes)
    methods = {
        labels[0][1]
        for name, labels in _samples(lite.client.get("/metrics").text)
        if name == "voicebot_http_requests_total"
    }
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}
    assert "OTHER" in methods


def test_metrics_can_require_a_key(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, api=ApiConfig(ops_key_required=True))
    key = _ops_key(sqlite_url)
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"X-API-Key": key}).status_code == 200


def test_logs_mask_url_encoded_numbers_tracebacks_and_sql_parameters() -> None:
    assert "3101234567" not in mask_pii('"GET /debtors?external_id=%2B57+310+123+4567 HTTP/1.1"')
    assert "310" not in mask_pii("/debtors?phone=%2B57%20310%20123%204567")
    sql = "(sqlite3.IntegrityError) UNIQUE failed\n[SQL: INSERT INTO debtors (full_name) VALUES (?)]\n[parameters: ('Ana Pérez Gómez', '52.111.234')]"
    masked = mask_pii(sql)
    assert "Ana Pérez" not in masked and "[SQL: INSERT INTO debtors" in masked
    record = logging.LogRecord("api", logging.ERROR, __file__, 1, "failed", None, None)
    try:
        raise ValueError("debtor +57 310 123 4567 [parameters: ('Ana Pérez Gómez',)]")
    except ValueError:
        record.exc_info = sys.exc_info()
    PiiFilter().filter(record)
    rendered = logging.Formatter().format(record)
    assert "Traceback" in rendered
    assert "310 123 4567" not in rendered and "Ana Pérez" not in rendered
