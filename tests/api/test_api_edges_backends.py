"""The edge limits hold on both backends: PostgreSQL refuses what SQLite silently stores
(over-long text, NUL bytes, integers beyond int4), so a limit that is too loose shows up
here as a 500."""

from __future__ import annotations

from api_world import World


def test_values_at_the_limits_are_stored_and_beyond_them_refused(world: World) -> None:
    manager = world.auth("manager")
    at_limit = {
        "name": "n" * 120,
        "jurisdiction": "CO",
        "default_region": "CO",
        "company": "c" * 120,
        "callback_number": "+" + "1" * 31,
        "limits": {"min_payment": "99999999999999.99"},
    }
    created = world.client.post("/campaigns", json=at_limit, headers=manager)
    assert created.status_code == 201, created.text
    assert (
        world.client.get(f"/campaigns/{created.json()['id']}", headers=manager).json()["limits"][
            "min_payment"
        ]
        == "99999999999999.99"
    )
    for beyond in ({"company": "c" * 121}, {"name": "x\x00y"}, {"callback_number": "1" * 33}):
        answer = world.client.post("/campaigns", json={**at_limit, **beyond}, headers=manager)
        assert answer.status_code == 422, (beyond, answer.text)
    auditor = world.auth("auditor")
    for path, params in (
        ("/debtors", {"segment": "a\x00b"}),
        ("/calls", {"disposition": "x" * 9}),
        ("/webhooks/deliveries", {"event_type": "\x00"}),
    ):
        answer = world.client.get(path, params=params, headers=auditor)
        assert answer.status_code == 422, (path, answer.text)
    largest = 2**31 - 1
    assert world.client.get(f"/debtors/{largest}", headers=auditor).status_code == 404
    page = world.client.get("/calls", params={"offset": largest}, headers=auditor)
    assert page.status_code == 200 and page.json()["items"] == []
    promise = world.client.get("/promises", headers=manager).json()["items"][0]
    kept = world.client.post(
        f"/promises/{promise['id']}/kept",
        json={"paid_amount": "99999999999999.99", "paid_at": "2026-11-28T10:00:00-05:00"},
        headers=manager,
    )
    assert kept.status_code == 200, kept.text
    assert world.client.get("/promises", headers=manager).status_code == 200
