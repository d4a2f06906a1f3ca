"""The console's pure parts: vendored files match their checksums, cookies, result checks."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from api.console import session as cookies
from api.console.i18n import catalog, money
from voicebot.campaigns.agent_results import ResultError, validate
from voicebot.domain.outcome import Disposition

VENDOR = Path(__file__).resolve().parents[2] / "api" / "console" / "static" / "vendor"


def test_vendored_front_end_files_match_their_recorded_sha256() -> None:
    lines = [
        line.split()
        for line in (VENDOR / "SHA256SUMS").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert {name for _, name in lines} == {
        "htmx.min.js",
        "sse.js",
        "uPlot.iife.min.js",
        "uPlot.min.css",
    }
    for digest, name in lines:
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_both_languages_have_the_same_messages() -> None:
    assert catalog("es-419").keys() == catalog("en").keys()


def test_a_session_cookie_is_refused_when_forged_expired_or_signed_by_another_secret() -> None:
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    session = cookies.new_session(key_id=7, now=now, lifetime_seconds=60, language="en")
    cookie = cookies.encode(b"s" * 32, session)
    assert cookies.decode(b"s" * 32, cookie, now=now) == session
    assert cookies.decode(b"t" * 32, cookie, now=now) is None
    assert cookies.decode(b"s" * 32, cookie, now=now + timedelta(seconds=60)) is None
    payload, mac = cookie.split(".")
    assert cookies.decode(b"s" * 32, payload[:-1] + "A." + mac, now=now) is None
    token = cookies.csrf_token(b"s" * 32, session)
    assert cookies.csrf_valid(b"s" * 32, session, token)
    other = cookies.new_session(key_id=7, now=now, lifetime_seconds=60, language="en")
    assert not cookies.csrf_valid(b"s" * 32, other, token)
    assert not cookies.csrf_valid(b"s" * 32, session, None)


TODAY = date(2026, 12, 2)


def test_a_promise_needs_a_positive_amount_and_a_date_within_the_limits() -> None:
    ok = validate(
        "PTP", "600000.50", "2026-12-10", " llamó su hija ", today=TODAY, max_days_ahead=20
    )
    assert (ok.disposition, ok.amount, ok.due_date, ok.notes) == (
        Disposition.PTP,
        Decimal("600000.50"),
        date(2026, 12, 10),
        "llamó su hija",
    )
    bad = [
        (("XX", "", "", ""), "disposition", "unknown"),
        (("NA", "", "", ""), "disposition", "not_for_agents"),
        (("PTP", "mucho", "2026-12-10", ""), "amount", "not_a_number"),
        (("PTP", "-5", "2026-12-10", ""), "amount", "out_of_range"),
        (("PTP", "NaN", "2026-12-10", ""), "amount", "out_of_range"),
        (("PTP", "1.001", "2026-12-10", ""), "amount", "too_many_decimals"),
        (("PPTP", "10", "10/12/2026", ""), "due_date", "not_a_date"),
        (("PTP", "10", "2026-12-01", ""), "due_date", "out_of_range"),
        (("PTP", "10", "2026-12-23", ""), "due_date", "out_of_range"),
        (("RTP", "", "", "x" * 2001), "notes", "too_long"),
    ]
    for args, field, code in bad:
        with pytest.raises(ResultError) as error:
            validate(*args, today=TODAY, max_days_ahead=20)
        assert (error.value.field, error.value.code) == (field, code), args
    assert validate("RTP", "", "", "", today=TODAY, max_days_ahead=20).amount is None


def test_money_uses_the_console_languages_separators() -> None:
    assert money("es-419", Decimal("1200000")) == "1.200.000,00"
    assert money("en", Decimal("1200000")) == "1,200,000.00"
    assert money("es-419", 540000.5) == "540.000,50"
    assert money("en", Decimal("-1234.567")) == "-1,234.57"
    assert money("es-419", 0) == "0,00"
