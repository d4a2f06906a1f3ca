"""A campaign's messaging policy over the API: read by auditors, set by managers, checked."""

from __future__ import annotations

from api_world import World

from voicebot.followups.policy import read_policy
from voicebot.storage import models as m

SECRET = "a-link-secret-of-enough-length"
POLICY = {
    "channel": "sms",
    "link_template": "https://pagos.example.com/p/{token}",
    "link_secret": SECRET,
    "reminder": "both",
    "after_broken": {
        "preventiva": {"first": "text", "call_after_hours": 48, "priority": 7},
        "*": {"call_after_hours": 2},
    },
}


def _campaign(world: World) -> int:
    created = world.client.post(
        "/campaigns",
        json={"name": "pol", "jurisdiction": "PE", "default_region": "PE"},
        headers=world.auth("manager"),
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _stored(world: World, campaign_id: int) -> dict[str, object]:
    with world.sessions() as s:
        return dict(s.get_one(m.Campaign, campaign_id).messaging or {})


def test_a_manager_sets_the_policy_and_an_auditor_reads_it_without_the_secret(
    empty: World,
) -> None:
    campaign_id = _campaign(empty)
    path = f"/campaigns/{campaign_id}/messaging"
    put = empty.client.put(path, json=POLICY, headers=empty.auth("manager"))
    assert put.status_code == 200, put.text
    read = empty.client.get(path, headers=empty.auth("auditor")).json()
    assert read["link_secret"] == "***" and SECRET not in put.text
    assert read["after_broken"]["preventiva"] == {
        "first": "text",
        "call_after_hours": 48,
        "priority": 7,
    }
    stored = _stored(empty, campaign_id)
    assert stored["link_secret"] == SECRET
    assert read_policy(stored).after_broken_step("otra").call_after_hours == 2
    # What was read, written back: the secret is kept, the change applied.
    read["reminder"] = "message"
    again = empty.client.put(path, json=read, headers=empty.auth("manager"))
    assert again.status_code == 200, again.text
    stored = _stored(empty, campaign_id)
    assert (stored["link_secret"], stored["reminder"]) == (SECRET, "message")
    with empty.sessions() as s:
        changes = s.query(m.AuditEntry).filter_by(action="messaging_policy_changed").count()
    assert changes == 2


def test_a_policy_the_cli_would_refuse_is_a_422_naming_the_key_and_stores_nothing(
    empty: World,
) -> None:
    campaign_id = _campaign(empty)
    path = f"/campaigns/{campaign_id}/messaging"
    manager = empty.auth("manager")
    assert empty.client.put(path, json=POLICY, headers=manager).status_code == 200
    cases = [
        ({**POLICY, "link_secret": "short"}, "link_secret must be at least 16"),
        ({"after_broken": {"x": {"first": "text"}}}, "x text first, but messaging.channel"),
        ({**POLICY, "after_broken": {" ": {}}}, "a segment name"),
        ({**POLICY, "link_template": "http://pagos.example.com/{token}"}, "link_template"),
        ({**POLICY, "link_template": "https://pagos.example.com/{"}, "not a valid template"),
    ]
    for body, message in cases:
        refused = empty.client.put(path, json=body, headers=manager)
        assert refused.status_code == 422, refused.text
        assert message in refused.json()["error"]["message"], refused.text
    schema_refused = empty.client.put(path, json={"reminder": "fax"}, headers=manager)
    assert schema_refused.status_code == 422
    assert _stored(empty, campaign_id)["reminder"] == "both"
    missing = empty.client.get("/campaigns/999/messaging", headers=manager)
    assert missing.status_code == 404
