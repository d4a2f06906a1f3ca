"""A campaign's live status: attempts by state and disposition, KPIs overall and per segment."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voicebot.campaigns.kpis import AttemptResult, compute_kpis
from voicebot.dialog.outcome import Disposition
from voicebot.storage import models as m


def campaign_status(session: Session, *, campaign_id: int) -> dict[str, Any]:
    campaign = session.get_one(m.Campaign, campaign_id)
    members = dict(
        session.execute(
            select(m.Debtor.segment, func.count())
            .join(m.CampaignDebtor, m.CampaignDebtor.debtor_id == m.Debtor.id)
            .where(m.CampaignDebtor.campaign_id == campaign_id)
            .group_by(m.Debtor.segment)
        ).all()
    )
    by_status = dict(
        session.execute(
            select(m.CallAttempt.status, func.count())
            .where(m.CallAttempt.campaign_id == campaign_id)
            .group_by(m.CallAttempt.status)
        ).all()
    )
    rows = session.execute(
        select(
            m.CallAttempt.debtor_id,
            m.CallAttempt.disposition,
            m.Debtor.segment,
            m.CallRecord.right_party,
            m.CallRecord.opt_out,
            m.CallRecord.transfer_reason,
            m.CallRecord.started_at,
            m.CallRecord.ended_at,
            m.PromiseToPay.amount,
            m.PromiseToPay.instalments,
            m.PromiseToPay.currency,
        )
        .join(m.Debtor, m.Debtor.id == m.CallAttempt.debtor_id)
        .outerjoin(m.CallRecord, m.CallRecord.attempt_id == m.CallAttempt.id)
        .outerjoin(m.PromiseToPay, m.PromiseToPay.attempt_id == m.CallAttempt.id)
        .where(
            m.CallAttempt.campaign_id == campaign_id,
            m.CallAttempt.status == "done",
            m.CallAttempt.disposition.is_not(None),
        )
    ).all()
    refusals = dict(
        session.execute(
            select(m.AuditEntry.rule, func.count())
            .where(m.AuditEntry.campaign_id == campaign_id, m.AuditEntry.action == "dial_refused")
            .group_by(m.AuditEntry.rule)
        ).all()
    )
    results: dict[str, list[AttemptResult]] = defaultdict(list)
    for (
        debtor_id,
        disposition,
        segment,
        rp,
        opt_out,
        transfer,
        started,
        ended,
        amount,
        inst,
        cur,
    ) in rows:
        result = AttemptResult(
            disposition=Disposition(str(disposition)),
            right_party=bool(rp),
            promised_amount=(Decimal(amount) * (inst or 1)) if amount is not None else None,
            currency=cur or "",
            opt_out=bool(opt_out),
            transferred=transfer is not None,
            handling_seconds=(ended - started).total_seconds() if started and ended else 0.0,
            debtor_id=str(debtor_id),
        )
        results[segment or ""].append(result)
    everything = [r for rs in results.values() for r in rs]
    overall = compute_kpis(
        everything,
        debtors_in_campaign=sum(members.values()),
        refused_by_compliance=sum(refusals.values()),
    )
    return {
        "campaign": campaign.name,
        "status": campaign.status,
        "jurisdiction": campaign.jurisdiction,
        "attempts_by_status": by_status,
        "kpis": overall.to_json(),
        "refused_by_rule": refusals,
        "by_segment": {
            segment or "(none)": compute_kpis(
                rs, debtors_in_campaign=members.get(segment, 0)
            ).to_json()
            for segment, rs in sorted(results.items())
        },
    }
