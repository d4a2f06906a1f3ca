"""Every route checks who is calling: no key → 401, wrong role → 403, right role → served."""

from __future__ import annotations

import re
from typing import Any

import pytest
from api_world import World

ROLES = ("admin", "manager", "auditor", "agent")
READ = {"admin", "manager", "auditor"}
WRITE = {"admin", "manager"}
FLOOR = {"admin", "manager", "auditor", "agent"}
# Twilio's messaging webhooks take no key: a Twilio signature instead (test_api_messaging.py).
PUBLIC = {
    "/health",
    "/ready",
    "/metrics",
    "/messaging/twilio/status",
    "/messaging/twilio/inbound",
}

# (method, path template, roles allowed, JSON body or multipart files)
MATRIX: list[tuple[str, str, set[str], dict[str, Any] | None]] = [
    ("GET", "/api-keys", {"admin"}, None),
    ("POST", "/api-keys", {"admin"}, {"json": {"name": "crm", "role": "auditor"}}),
    ("DELETE", "/api-keys/{spare_key}", {"admin"}, None),
    (
        "POST",
        "/portfolios/csv",
        WRITE,
        {"files": {"file": ("p.csv", b"a,b\n1,2\n")}, "data": {"default_region": "CO"}},
    ),
    ("POST", "/portfolios/json", WRITE, {"json": {"default_region": "CO", "rows": [{"x": 1}]}}),
    (
        "POST",
        "/payments/csv",
        WRITE,
        {"files": {"file": ("p.csv", b"payment_id,debt_ref,amount,currency,paid_on\n")}},
    ),
    ("GET", "/campaigns", READ, None),
    (
        "POST",
        "/campaigns",
        WRITE,
        {"json": {"name": "x", "jurisdiction": "CO", "default_region": "CO"}},
    ),
    ("GET", "/campaigns/{campaign}", READ, None),
    ("GET", "/campaigns/{campaign}/status", READ, None),
    ("GET", "/campaigns/{campaign}/compliance", READ, None),
    ("POST", "/campaigns/{campaign}/pause", WRITE, None),
    ("POST", "/campaigns/{campaign}/resume", WRITE, None),
    ("POST", "/campaigns/{campaign}/stop", WRITE, None),
    ("POST", "/campaigns/{campaign}/launch", WRITE, None),
    ("GET", "/campaigns/{campaign}/messaging", READ, None),
    ("PUT", "/campaigns/{campaign}/messaging", WRITE, {"json": {"reminder": "both"}}),
    ("GET", "/debtors", READ, None),
    ("GET", "/debtors/{debtor}", READ, None),
    ("POST", "/debtors/{debtor}/opt-out", {"admin", "manager", "agent"}, {"json": {}}),
    (
        "POST",
        "/debtors/{debtor}/contacts",
        {"admin", "manager", "agent"},
        {
            "json": {
                "at": "2026-11-20T10:00:00-05:00",
                "channel": "sms",
                "result": "answered",
                "source": "crm",
            }
        },
    ),
    ("GET", "/calls", FLOOR, None),
    ("GET", "/calls/{call}", FLOOR, None),
    ("GET", "/calls/{call}/recording", FLOOR, None),
    ("GET", "/calls/{call}/recording/info", FLOOR, None),
    ("GET", "/promises", READ, None),
    ("POST", "/promises/{promise}/kept", WRITE, {"json": {"paid_amount": "10"}}),
    ("POST", "/agents", {"admin"}, {"json": {"name": "agente-9"}}),
    ("GET", "/agents", FLOOR, None),
    ("PUT", "/agents/me/status", {"agent"}, {"json": {"status": "available"}}),
    ("PUT", "/agents/{agent}/status", WRITE, {"json": {"status": "offline"}}),
    ("GET", "/transfers", FLOOR, None),
    ("GET", "/transfers/{transfer}", FLOOR, None),
    ("POST", "/transfers/{transfer}/accept", {"agent"}, None),
    ("GET", "/dialplans", READ, None),
    ("POST", "/dialplans/validate", WRITE, {"files": {"file": ("d.yaml", b"states: {}\n")}}),
    ("GET", "/webhooks/deliveries", READ, None),
    ("GET", "/webhooks/deliveries/{event}", READ, None),
    ("POST", "/webhooks/deliveries/{event}/replay", {"admin"}, None),
]


def _ids(world: World) -> dict[str, int]:
    client = world.client
    admin = world.auth("admin")
    spare = client.post("/api-keys", json={"name": "spare", "role": "auditor"}, headers=admin)
    promise = client.get("/promises", headers=admin).json()["items"][0]["id"]
    event = client.get("/webhooks/deliveries", headers=admin).json()["items"][0]["id"]
    agent = client.get("/agents", headers=admin).json()["items"][0]["id"]
    return {
        "spare_key": spare.json()["id"],
        "campaign": world.campaign_id,
        "debtor": world.debtors["C1"],
        "call": world.calls["C2"],
        "promise": promise,
        "agent": agent,
        "transfer": world.transfer_id,
        "event": event,
    }


def _send(
    world: World, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
) -> Any:
    return world.client.request(method, path, headers=headers, **(body or {}))


def test_the_matrix_covers_every_route(empty: World) -> None:
    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path)

    paths = empty.client.get("/openapi.json").json()["paths"]
    documented = {
        (method.upper(), shape(path))
        for path, operations in paths.items()
        if path not in PUBLIC
        for method in operations
    }
    assert documented == {(method, shape(path)) for method, path, _, _ in MATRIX}


def test_every_route_refuses_a_missing_or_bad_key(lite: World) -> None:
    ids = _ids(lite)
    lite.client.app.state.key_throttle.per_minute = 0  # 60 bad keys: throttling is tested apart
    for method, template, _, body in MATRIX:
        path = template.format(**ids)
        for headers in ({}, {"X-API-Key": "vbk_00000000_forged"}, {"X-API-Key": "nonsense"}):
            response = _send(lite, method, path, body, headers)
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_served_or_refused_per_route(lite: World, role: str) -> None:
    ids = _ids(lite)
    for method, template, allowed, body in MATRIX:
        path = template.format(**ids)
        response = _send(lite, method, path, body, lite.auth(role))
        if role in allowed:
            assert response.status_code not in (401, 403), (role, method, path, response.text)
        else:
            assert response.status_code == 403, (role, method, path, response.text)
            error = response.json()["error"]
            assert error["code"] == "forbidden"
            assert role in error["message"]


def test_revoked_key_stops_working(lite: World) -> None:
    admin = lite.auth("admin")
    created = lite.client.post("/api-keys", json={"name": "temp", "role": "manager"}, headers=admin)
    assert created.status_code == 201
    key = created.json()["key"]
    assert lite.client.get("/campaigns", headers={"X-API-Key": key}).status_code == 200
    revoked = lite.client.delete(f"/api-keys/{created.json()['id']}", headers=admin)
    assert revoked.json()["revoked_at"] is not None
    refused = lite.client.get("/campaigns", headers={"X-API-Key": key})
    assert refused.status_code == 401
    listed = lite.client.get("/api-keys", headers=admin).json()
    assert "key" not in listed["items"][0] and "key_hash" not in listed["items"][0]
