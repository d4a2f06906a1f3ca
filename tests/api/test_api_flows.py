"""Core flows through HTTP on SQLite and PostgreSQL: import, launch, calls, status, promises."""

from __future__ import annotations

from datetime import UTC, date, datetime

from api_world import World
from sqlalchemy import select

from voicebot.storage import models as m
from voicebot.storage.db import transaction
from voicebot.storage.repositories import is_opted_out


def test_campaign_status_reports_kpis_overall_and_by_segment(world: World) -> None:
    status = world.client.get(
        f"/campaigns/{world.campaign_id}/status", headers=world.auth("auditor")
    )
    assert status.status_code == 200
    body = status.json()
    assert body["status"] == "running"
    assert body["attempts_by_status"] == {"done": 4}
    kpis = body["kpis"]
    assert kpis["debtors_in_campaign"] == 4
    assert kpis["attempts"] == 4
    assert kpis["by_disposition"] == {"DNC": 1, "PTP": 1, "RPC": 1, "WPC": 1}
    assert kpis["promises"] == 1
    assert kpis["opt_outs"] == 1
    assert kpis["promised_amount"] == {"COP": 900000.0}
    assert set(body["by_segment"]) == {"tarjeta", "credito"}
    assert body["by_segment"]["tarjeta"]["promises"] == 1
    assert body["by_segment"]["credito"]["attempts"] == 2


def test_calls_list_filters_and_paginates(world: World) -> None:
    auditor = world.auth("auditor")
    page = world.client.get("/calls", params={"limit": 3}, headers=auditor).json()
    assert page["total"] == 4
    assert len(page["items"]) == 3
    rest = world.client.get("/calls", params={"limit": 3, "offset": 3}, headers=auditor).json()
    ids = {c["id"] for c in page["items"]} | {c["id"] for c in rest["items"]}
    assert ids == set(world.calls.values())

    ptp = world.client.get("/calls", params={"disposition": "ptp"}, headers=auditor).json()
    assert [c["id"] for c in ptp["items"]] == [world.calls["C1"]]
    mine = world.client.get(
        "/calls", params={"debtor_id": world.debtors["C4"]}, headers=auditor
    ).json()
    assert [c["disposition"] for c in mine["items"]] == ["WPC"]
    in_campaign = world.client.get(
        "/calls", params={"campaign_id": world.campaign_id}, headers=auditor
    ).json()
    assert in_campaign["total"] == 4
    window = {"since": "2026-11-23T14:00:00Z", "until": "2026-11-23T16:00:00Z"}
    assert world.client.get("/calls", params=window, headers=auditor).json()["total"] == 4
    before = {"since": "2026-11-22T00:00:00Z", "until": "2026-11-23T14:00:00Z"}
    assert world.client.get("/calls", params=before, headers=auditor).json()["total"] == 0


def test_one_call_has_outcome_promise_and_timed_transcript(world: World) -> None:
    call = world.client.get(f"/calls/{world.calls['C1']}", headers=world.auth("manager")).json()
    assert call["disposition"] == "PTP"
    assert call["right_party"] is True
    assert call["disclosure"] is True
    assert call["promise"]["amount"] == "900000.00"
    assert call["promise"]["currency"] == "COP"
    debtor_turns = [t for t in call["transcript"] if t["speaker"] == "debtor"]
    assert [t["text"] for t in debtor_turns] == [
        "sí, soy yo",
        "1234",
        "pago todo el viernes",
        "sí",
    ]
    assert all(t["confidence"] is not None for t in debtor_turns)
    stamps = [t["at"] for t in call["transcript"]]
    assert stamps == sorted(stamps)
    assert call["recording_url"] is None


def test_opt_out_via_api_blocks_dialing_and_queues_a_webhook(world: World) -> None:
    debtor_id = world.debtors["C1"]
    response = world.client.post(
        f"/debtors/{debtor_id}/opt-out",
        json={"reason": "pidió por escrito no ser contactado"},
        headers=world.auth("manager"),
    )
    assert response.status_code == 201
    assert response.json()["source"] == "api"
    with world.sessions() as s:
        assert is_opted_out(s, debtor_id=debtor_id)
        event = s.scalar(
            select(m.OutboxEvent).where(
                m.OutboxEvent.idempotency_key == f"opt_out:{response.json()['id']}"
            )
        )
        assert event is not None and event.payload["debtor_id"] == debtor_id
    history = world.client.get(f"/debtors/{debtor_id}", headers=world.auth("auditor")).json()
    assert [o["source"] for o in history["opt_outs"]] == ["api"]
    assert [a["disposition"] for a in history["attempts"]] == ["PTP"]
    assert history["promises"][0]["status"] == "pending"
    assert history["phones"][0]["e164"] == "+573101234567"


def test_promise_marked_kept_is_listed_and_reported(world: World) -> None:
    manager = world.auth("manager")
    pending = world.client.get("/promises", params={"status": "pending"}, headers=manager).json()
    assert pending["total"] == 1
    promise = pending["items"][0]
    assert date.fromisoformat(promise["due_date"]) >= date(2026, 11, 23)
    with transaction(world.sessions) as s:  # the check call the dialer queues with a promise
        s.add(
            m.CallAttempt(
                campaign_id=promise["campaign_id"],
                debtor_id=promise["debtor_id"],
                kind="check",
                due_at=datetime(2026, 11, 28, 15, 0, tzinfo=UTC),
            )
        )
    kept = world.client.post(
        f"/promises/{promise['id']}/kept",
        json={"paid_amount": "900000", "paid_at": "2026-11-27T12:00:00Z"},
        headers=manager,
    )
    assert kept.status_code == 200
    assert kept.json()["status"] == "kept"
    again = world.client.post(
        f"/promises/{promise['id']}/kept", json={"paid_amount": "1"}, headers=manager
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_state"
    listed = world.client.get("/promises", params={"status": "kept"}, headers=manager).json()
    assert [p["id"] for p in listed["items"]] == [promise["id"]]
    with world.sessions() as s:
        types = set(s.scalars(select(m.OutboxEvent.event_type)))
        # A kept promise needs no reminder or check call any more.
        follow_ups = set(
            s.scalars(
                select(m.CallAttempt.status).where(
                    m.CallAttempt.debtor_id == promise["debtor_id"],
                    m.CallAttempt.kind.in_(("reminder", "check")),
                )
            )
        )
    assert {"call.completed", "promise.created", "opt_out.recorded", "promise.kept"} <= types
    assert follow_ups == {"canceled"}


def test_campaign_state_changes_and_refusals(world: World) -> None:
    manager = world.auth("manager")
    base = f"/campaigns/{world.campaign_id}"
    assert world.client.post(f"{base}/pause", headers=manager).json()["campaign"]["status"] == (
        "paused"
    )
    refused = world.client.post(f"{base}/pause", headers=manager)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "invalid_state"
    assert world.client.post(f"{base}/resume", headers=manager).json()["campaign"]["status"] == (
        "running"
    )
    stopped = world.client.post(f"{base}/stop", headers=manager).json()
    assert stopped["campaign"]["status"] == "stopped"
    assert world.client.post("/campaigns/999/launch", headers=manager).status_code == 404
    with world.sessions() as s:
        actions = list(
            s.scalars(
                select(m.AuditEntry.action)
                .where(m.AuditEntry.campaign_id == world.campaign_id)
                .where(m.AuditEntry.action.like("campaign_%"))
                .order_by(m.AuditEntry.id)
            )
        )
    assert actions == [
        "campaign_created",
        "campaign_launch",
        "campaign_pause",
        "campaign_resume",
        "campaign_stop",
    ]


def test_agent_takes_a_transfer_and_sees_only_that_call(world: World) -> None:
    agent = world.auth("agent")
    queue = world.client.get("/transfers", headers=agent).json()
    assert [t["id"] for t in queue["items"]] == [world.transfer_id]
    assert world.client.get("/calls", headers=agent).json()["total"] == 0
    taken = world.client.post(f"/transfers/{world.transfer_id}/accept", headers=agent)
    assert taken.status_code == 200, taken.text
    pop = taken.json()
    assert pop["transfer"]["agent"] == "agente-1"
    assert pop["transfer"]["reason"] == "agent_request"
    assert pop["debtor"]["external_id"] == "C2"
    assert pop["debts"][0]["amount"] == "1200000.00"
    assert pop["transcript"][-1]["speaker"] in {"bot", "debtor"}
    assert any(t["text"] == "quiero hablar con un asesor" for t in pop["transcript"])
    assert pop["context"] == {"summary": "pide hablar con un asesor"}

    calls = world.client.get("/calls", headers=agent).json()
    assert [c["id"] for c in calls["items"]] == [world.calls["C2"]]
    assert world.client.get(f"/calls/{world.calls['C2']}", headers=agent).status_code == 200
    assert world.client.get(f"/calls/{world.calls['C1']}", headers=agent).status_code == 404

    rival = world.auth("other_agent")
    lost = world.client.post(f"/transfers/{world.transfer_id}/accept", headers=rival)
    assert lost.status_code == 409
    assert world.client.get("/calls", headers=rival).json()["total"] == 0
    assert world.client.get(f"/transfers/{world.transfer_id}", headers=rival).status_code == 404
    agents = world.client.get("/agents", headers=world.auth("manager")).json()["items"]
    assert {a["name"]: a["status"] for a in agents} == {"agente-1": "busy", "agente-2": "offline"}


def test_cursor_pages_follow_the_offset_order_without_repeats(world: World) -> None:
    auditor = world.auth("auditor")
    by_offset = [c["id"] for c in world.client.get("/calls", headers=auditor).json()["items"]]
    seen: list[int] = []
    params: dict[str, str | int] = {"limit": 1}
    for _ in range(10):
        page = world.client.get("/calls", params=params, headers=auditor).json()
        assert page["total"] == 4
        seen += [c["id"] for c in page["items"]]
        if page["next_cursor"] is None:
            break
        params = {"limit": 1, "cursor": page["next_cursor"]}
    assert seen == by_offset
    bad = world.client.get("/calls", params={"cursor": "not-a-cursor"}, headers=auditor)
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_cursor"
