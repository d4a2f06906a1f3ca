"""No request produces a 500 or stores a value that breaks later reads (issue 9, findings 4-6,
8, 9, 12): each case here was a 500, a poisoned row or an accepted oversize body."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_world import PORTFOLIO_CSV, World, make_settings, open_world
from sqlalchemy import func, select

from voicebot.config import ApiConfig
from voicebot.storage import models as m

BIG = 2**63


def _count(world: World, model: type[m.Base]) -> int:
    with world.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_deep_schedule_is_refused_and_leaves_campaign_reads_working(empty: World) -> None:
    manager = empty.auth("manager")
    nested: dict[str, object] = {}
    cursor = nested
    for _ in range(500):
        cursor["a"] = {}
        cursor = cursor["a"]  # type: ignore[assignment]
    body = {"name": "hondo", "jurisdiction": "CO", "default_region": "CO", "schedule": nested}
    refused = empty.client.post("/campaigns", json=body, headers=manager)
    assert refused.status_code == 422, refused.text
    assert _count(empty, m.Campaign) == 0
    assert empty.client.get("/campaigns", headers=manager).status_code == 200
    for bad in ({"x": float("nan")}, {"x": "a" * 5000}, {"x": 2**70}):
        answer = empty.client.post(
            "/campaigns",
            content=__import__("json").dumps({**body, "schedule": bad}),
            headers={**manager, "Content-Type": "application/json"},
        )
        assert answer.status_code == 422, (bad, answer.text)


@pytest.mark.parametrize(
    "amount", ["1E+999999", "Infinity", "NaN", "123456789012345678.00", "10.001", "-5"]
)
def test_paid_amounts_fit_numeric_16_2_and_reads_stay_healthy(lite: World, amount: str) -> None:
    manager = lite.auth("manager")
    promise = lite.client.get("/promises", headers=manager).json()["items"][0]
    answer = lite.client.post(
        f"/promises/{promise['id']}/kept", json={"paid_amount": amount}, headers=manager
    )
    assert answer.status_code == 422, answer.text
    assert lite.client.get("/promises", headers=manager).status_code == 200
    debtor = lite.client.get(f"/debtors/{promise['debtor_id']}", headers=manager)
    assert debtor.status_code == 200
    assert debtor.json()["promises"][0]["status"] == "pending"


def test_a_valid_payment_with_an_aware_date_is_kept(lite: World) -> None:
    manager = lite.auth("manager")
    promise = lite.client.get("/promises", headers=manager).json()["items"][0]
    naive = lite.client.post(
        f"/promises/{promise['id']}/kept",
        json={"paid_amount": "400000.50", "paid_at": "2026-11-28T10:00:00"},
        headers=manager,
    )
    assert naive.status_code == 422
    kept = lite.client.post(
        f"/promises/{promise['id']}/kept",
        json={"paid_amount": "400000.50", "paid_at": "2026-11-28T10:00:00-05:00"},
        headers=manager,
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["paid_amount"] == "400000.50"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (f"/campaigns/{BIG}", {}),
        (f"/debtors/{BIG}", {}),
        (f"/calls/{BIG}", {}),
        ("/calls", {"campaign_id": BIG}),
        ("/calls", {"offset": BIG}),
        ("/promises", {"debtor_id": BIG}),
        ("/debtors", {"campaign_id": -BIG}),
        ("/calls", {"since": "2026-11-01T00:00:00"}),
        ("/calls", {"until": "0001-01-01T00:00:00+14:00"}),
        ("/calls", {"since": "9999-12-31T23:59:59-12:00"}),
        ("/promises", {"due_from": "0001-01-01"}),
        ("/debtors", {"segment": "a\x00b"}),
        ("/calls", {"cursor": "x" * 5000}),
    ],
)
def test_out_of_range_ids_dates_and_filters_are_422_not_500(
    lite: World, path: str, params: dict[str, object]
) -> None:
    answer = lite.client.get(path, params=params, headers=lite.auth("auditor"))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] in ("validation_error", "invalid_cursor")


def test_cursors_are_signed_and_range_checked(lite: World) -> None:
    from base64 import urlsafe_b64encode

    auditor = lite.auth("auditor")
    first = lite.client.get("/calls", params={"limit": 1}, headers=auditor).json()
    cursor = first["next_cursor"]
    assert cursor is not None
    assert lite.client.get("/calls", params={"cursor": cursor}, headers=auditor).status_code == 200
    # The old unsigned format, a far-future one and a tampered signed one are all refused.
    for forged in (
        urlsafe_b64encode(b"2026-11-23T15:00:00+00:00|999").decode(),
        urlsafe_b64encode(b"9999-12-31T23:59:59-12:00|1").decode(),
        cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"),
    ):
        answer = lite.client.get("/calls", params={"cursor": forged}, headers=auditor)
        assert answer.status_code == 422, (forged, answer.text)
        assert answer.json()["error"]["code"] == "invalid_cursor"


HEADER, ANA = PORTFOLIO_CSV.splitlines()[:2]


@pytest.mark.parametrize(
    "csv_text",
    [
        f"{HEADER}\r{ANA}\r",  # bare CR line ends
        f"{HEADER}\n{ANA}\nC9,{'x' * 140_000},1,3101234567,1,COP,1,a,b,c\n",  # a 140 KB cell
    ],
)
def test_unreadable_csv_lines_are_row_errors(empty: World, csv_text: str) -> None:
    answer = empty.client.post(
        "/portfolios/csv",
        files={"file": ("c.csv", csv_text.encode(), "text/csv")},
        data={"default_region": "CO"},
        headers=empty.auth("manager"),
    )
    assert answer.status_code in (200, 422), answer.text
    if answer.status_code == 422:
        assert answer.json()["error"]["code"] in ("invalid_rows", "unreadable_portfolio")
    assert _count(empty, m.Debtor) == 1  # Ana is imported either way


def test_string_fields_are_as_long_as_their_columns(empty: World) -> None:
    manager = empty.auth("manager")
    body = {"name": "c" * 121, "jurisdiction": "CO", "default_region": "CO"}
    assert empty.client.post("/campaigns", json=body, headers=manager).status_code == 422
    body = {"name": "c", "jurisdiction": "CO", "default_region": "CO", "company": "x" * 121}
    assert empty.client.post("/campaigns", json=body, headers=manager).status_code == 422
    admin = empty.auth("admin")
    bad_uri = empty.client.post(
        "/agents", json={"name": "a", "sip_uri": "javascript:alert(1)"}, headers=admin
    )
    assert bad_uri.status_code == 422
    good_uri = empty.client.post(
        "/agents", json={"name": "a", "sip_uri": "sip:101@pbx.example"}, headers=admin
    )
    assert good_uri.status_code == 201


def test_request_schemas_match_the_column_lengths() -> None:
    from api import schemas

    pairs = {
        (schemas.CampaignCreate, "name"): m.Campaign.name,
        (schemas.CampaignCreate, "company"): m.Campaign.company,
        (schemas.CampaignCreate, "callback_number"): m.Campaign.callback_number,
        (schemas.CampaignCreate, "dialplan"): m.Campaign.dialplan,
        (schemas.AgentCreate, "name"): m.Agent.name,
        (schemas.AgentCreate, "sip_uri"): m.Agent.sip_uri,
        (schemas.ApiKeyCreate, "name"): m.ApiKey.name,
        (schemas.OptOutIn, "reason"): m.OptOut.reason,
    }
    for (model, field), column in pairs.items():
        limits = [
            c.max_length for c in model.model_fields[field].metadata if hasattr(c, "max_length")
        ]
        assert limits == [column.type.length], (model.__name__, field, limits)  # type: ignore[attr-defined]


@pytest.fixture
def small(sqlite_url: str) -> Iterator[World]:
    settings = make_settings(sqlite_url, api=ApiConfig(max_upload_bytes=4096))
    yield from open_world(sqlite_url, settings)


def _chunks(total: int) -> Iterator[bytes]:
    yield b'{"default_region": "CO", "rows": [{"x": "'
    sent = 0
    while sent < total:
        yield b"a" * 1024
        sent += 1024
    yield b'"}]}'


def test_a_chunked_body_over_the_limit_is_refused(small: World) -> None:
    answer = small.client.post(
        "/portfolios/json",
        content=_chunks(512 * 1024),
        headers={**small.auth("manager"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == "payload_too_large"


def test_anonymous_bodies_are_refused_before_they_are_read(small: World) -> None:
    received = 0

    def counting() -> Iterator[bytes]:
        nonlocal received
        for chunk in _chunks(256 * 1024):
            received += len(chunk)
            yield chunk

    answer = small.client.post(
        "/portfolios/json", content=counting(), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 401
    # The guard answered without asking for the body (the test client sends at most what
    # the app receives; an app that reads everything would have pulled all 256 KiB).
    assert received < 64 * 1024


def test_a_role_that_may_not_upload_is_refused_before_the_body_is_read(small: World) -> None:
    received = 0

    def counting() -> Iterator[bytes]:
        nonlocal received
        for chunk in _chunks(256 * 1024):
            received += len(chunk)
            yield chunk

    answer = small.client.post(
        "/portfolios/json",
        content=counting(),
        headers={**small.auth("auditor"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"
    assert received < 64 * 1024


def test_repeated_wrong_keys_are_throttled_with_a_clear_429(empty: World) -> None:
    throttle = empty.client.app.state.key_throttle
    now = [1000.0]
    throttle.clock = lambda: now[0]
    wrong = {"X-API-Key": "vbk_deadbeef_wrong"}
    answers = [empty.client.get("/campaigns", headers=wrong).status_code for _ in range(25)]
    assert answers[: throttle.per_minute] == [401] * throttle.per_minute
    assert set(answers[throttle.per_minute :]) == {429}
    limited = empty.client.get("/campaigns", headers=empty.auth("manager"))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "too_many_failed_keys"
    now[0] += 61
    assert empty.client.get("/campaigns", headers=empty.auth("manager")).status_code == 200


def test_security_headers_and_no_server_banner(empty: World, tmp_path: Path) -> None:
    answer = empty.client.get("/campaigns", headers=empty.auth("auditor"))
    for header in (
        "x-content-type-options",
        "x-frame-options",
        "content-security-policy",
        "referrer-policy",
        "cache-control",
    ):
        assert header in answer.headers, header
    assert answer.headers["cache-control"] == "no-store"
    refused = empty.client.get("/campaigns")
    assert refused.headers["x-content-type-options"] == "nosniff"


def test_openapi_documents_the_error_answers(empty: World) -> None:
    schema = empty.client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status in ("401", "403", "413", "422", "429"):
                assert status in responses, (method, path, status)


def test_portfolio_rows_fit_their_columns_and_carry_no_formulas(empty: World) -> None:
    base = {"external_id": "F0", "full_name": "Ana", "phone": "3101234567", "amount": "1000"}
    rows = [
        base,
        {**base, "external_id": "F1", "full_name": '=HYPERLINK("http://x","clic")'},
        {**base, "external_id": "F2", "full_name": "a" * 201},
        {**base, "external_id": "F3", "days_past_due": str(2**40)},
        {**base, "external_id": "F4", "amount": "1" + "0" * 20},
        {**base, "external_id": "@SUM(1)"},
    ]
    answer = empty.client.post(
        "/portfolios/json",
        json={"default_region": "CO", "default_creditor": "Banco", "rows": rows},
        headers=empty.auth("manager"),
    )
    assert answer.status_code == 422, answer.text
    report = answer.json()["error"]["details"]
    assert report["imported"] == 1
    assert sorted({e["line"] for e in report["errors"]}) == [2, 3, 4, 5, 6]
    assert _count(empty, m.Debtor) == 1


def test_a_body_nested_beyond_the_parser_is_a_client_error(empty: World) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    answer = empty.client.post(
        "/api-keys",
        content=body,
        headers={**empty.auth("admin"), "Content-Type": "application/json"},
    )
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["error"]["code"] in ("bad_request", "validation_error")
