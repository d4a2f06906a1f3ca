"""Agents opt out only debtors of their own transfers; a one-number opt-out blocks that number
(issue 9, finding 7)."""

from __future__ import annotations

from api_world import World
from sqlalchemy import select

from voicebot.storage import models as m
from voicebot.storage.repositories import is_opted_out


def test_an_agent_opts_out_only_debtors_of_its_transfers(lite: World) -> None:
    c2 = lite.debtors["C2"]  # the debtor who asked for an agent
    other = lite.debtors["C1"]
    took = lite.client.post(f"/transfers/{lite.transfer_id}/accept", headers=lite.auth("agent"))
    assert took.status_code == 200
    stranger = lite.client.post(
        f"/debtors/{other}/opt-out", json={"reason": "x"}, headers=lite.auth("agent")
    )
    missing = lite.client.post(
        "/debtors/999999/opt-out", json={"reason": "x"}, headers=lite.auth("agent")
    )
    assert stranger.status_code == missing.status_code == 404
    assert stranger.json()["error"]["code"] == missing.json()["error"]["code"]
    not_mine = lite.client.post(
        f"/debtors/{c2}/opt-out", json={"reason": "x"}, headers=lite.auth("other_agent")
    )
    assert not_mine.status_code == 404
    mine = lite.client.post(
        f"/debtors/{c2}/opt-out", json={"reason": "no llamar"}, headers=lite.auth("agent")
    )
    assert mine.status_code == 201, mine.text
    with lite.sessions() as s:
        assert [o.debtor_id for o in s.scalars(select(m.OptOut))].count(other) == 0


def test_a_single_number_opt_out_blocks_only_that_number(lite: World) -> None:
    debtor = lite.debtors["C1"]
    with lite.sessions() as s:
        number = s.scalars(select(m.Phone.e164).where(m.Phone.debtor_id == debtor)).one()
    foreign = lite.client.post(
        f"/debtors/{debtor}/opt-out", json={"phone": "+15555550100"}, headers=lite.auth("manager")
    )
    assert foreign.status_code == 422 and foreign.json()["error"]["code"] == "unknown_phone"
    spaced = number[:3] + " " + number[3:6] + " " + number[6:]
    answer = lite.client.post(
        f"/debtors/{debtor}/opt-out", json={"phone": spaced}, headers=lite.auth("manager")
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["phone"] == number
    with lite.sessions() as s:
        assert is_opted_out(s, debtor_id=debtor, phone=number)
        assert not is_opted_out(s, debtor_id=debtor, phone="+573009999999")
    everywhere = lite.client.post(
        f"/debtors/{debtor}/opt-out", json={}, headers=lite.auth("manager")
    )
    assert everywhere.status_code == 201
    with lite.sessions() as s:
        assert is_opted_out(s, debtor_id=debtor, phone="+573009999999")
