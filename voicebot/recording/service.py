"""The recorder the call runner uses: a row and a file when the call is answered, settled at the end.

Order matters for "an outcome never points to a missing file": the row (status
``recording``) is committed before the first frame, and ``finish`` closes, fsyncs and
commits the file to its store and marks the row ``complete`` before the runner returns,
so before the dialer commits the call's outcome. A worker killed in between leaves the
row and a partial file; ``settle_interrupted`` measures and hashes what plays of it.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.domain.outcome import Turn
from voicebot.recording.leg import RecordingLeg
from voicebot.recording.phone_state import us_region_of_phone
from voicebot.recording.policy import RecordingPolicy, RecordingRulesError, recording_policy
from voicebot.recording.store import RecordingStore, new_key
from voicebot.recording.writer import MEDIA_TYPE, RecordingWriter, file_facts, repair_partial
from voicebot.storage import models as m
from voicebot.storage.repositories import append_audit
from voicebot.telephony.carrier import CallLeg

log = logging.getLogger(__name__)

CHANNELS = ["bot", "far_end"]
Clock = Callable[[], datetime]


@dataclass(slots=True)
class ActiveRecording:
    recording_id: int
    key: str
    leg: RecordingLeg
    policy: RecordingPolicy
    started_at: datetime


@dataclass(slots=True)
class PendingRecording:
    """An inbound call's recording from answer on; ``recording_id`` once the caller is known."""

    key: str
    leg: RecordingLeg
    started_at: datetime
    recording_id: int | None = None


INBOUND_NOTICE_RULE = "inbound: given at answer to every caller, before they are known"


def turn_timeline(transcript: Sequence[Turn], started_at: datetime) -> list[dict[str, object]]:
    """Each transcript turn's place in the file (ms from its first sample), in transcript order."""
    return [
        {
            "turn": index,
            "speaker": turn.speaker,
            "offset_ms": max(0, round((turn.at - started_at).total_seconds() * 1000)),
        }
        for index, turn in enumerate(transcript)
    ]


def _policy(campaign: m.Campaign, region: str, e164: str) -> RecordingPolicy:
    """The stricter of what the debtor's region and the phone's area code call for."""
    regions = [region] + [r for r in (us_region_of_phone(e164),) if r and r != region]
    candidates = []
    for where in regions:
        try:
            candidates.append(
                recording_policy([campaign.jurisdiction], where, campaign.recording_policy)
            )
        except RecordingRulesError as error:
            # A malformed campaign policy must not silence a notice the law asks for.
            log.warning("campaign %s: %s; using the law's rules only", campaign.id, error)
            candidates.append(recording_policy([campaign.jurisdiction], where, None))
    return max(candidates, key=lambda p: (p.notice, p.retention_days))


class CallRecordings:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: RecordingStore,
        *,
        actor: str = "recorder",
        flush_frames: int = 50,
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.actor = actor
        self.flush_frames = flush_frames

    def start(self, attempt_id: int, leg: CallLeg, started_at: datetime) -> ActiveRecording:
        """Register the recording, open its file, and wrap ``leg`` so the call is recorded."""
        key = new_key(started_at.astimezone(UTC))
        recording_id, policy = self._register(attempt_id, key, started_at)
        writer = RecordingWriter(self.store.spool_path(key), flush_frames=self.flush_frames)
        return ActiveRecording(recording_id, key, RecordingLeg(leg, writer), policy, started_at)

    # An inbound call is recorded from answer on, before anyone knows who is calling (the
    # notice is given then, to every caller); its row is filed once the caller is identified.

    def begin_inbound(self, leg: CallLeg, started_at: datetime) -> PendingRecording:
        """Open the file of an answered inbound call and wrap ``leg`` so it is recorded."""
        key = new_key(started_at.astimezone(UTC))
        writer = RecordingWriter(self.store.spool_path(key), flush_frames=self.flush_frames)
        return PendingRecording(key, RecordingLeg(leg, writer), started_at)

    def attach_inbound(self, pending: PendingRecording, attempt_id: int) -> None:
        """The caller is identified: the recording's row, under their call and its policy."""
        recording_id, _ = self._register(
            attempt_id, pending.key, pending.started_at, notice_given=True
        )
        pending.recording_id = recording_id

    async def finish_inbound(
        self, pending: PendingRecording, transcript: Sequence[Turn], ended_at: datetime
    ) -> None:
        """Store it like a dial's; a caller never identified leaves no file (no one to file it
        under, nothing to keep: what such a call decided is in the audit log)."""
        if pending.recording_id is None:

            def discard() -> None:
                pending.leg.writer.close()
                self.store.spool_path(pending.key).unlink(missing_ok=True)

            await asyncio.to_thread(discard)
            return
        policy = RecordingPolicy(True, "", 0, "")  # only the row's id and file matter here
        active = ActiveRecording(
            pending.recording_id, pending.key, pending.leg, policy, pending.started_at
        )
        await self.finish(active, transcript, ended_at)

    def _register(
        self, attempt_id: int, key: str, started_at: datetime, *, notice_given: bool = False
    ) -> tuple[int, RecordingPolicy]:
        with self.sessions.begin() as s:
            attempt = s.get_one(m.CallAttempt, attempt_id)
            campaign = s.get_one(m.Campaign, attempt.campaign_id)
            debtor = s.get_one(m.Debtor, attempt.debtor_id)
            phone = s.get(m.Phone, attempt.phone_id) if attempt.phone_id else None
            e164 = phone.e164 if phone else attempt.caller_id or ""
            policy = _policy(campaign, debtor.region, e164)
            if notice_given and not policy.notice:
                policy = replace(policy, notice=True, notice_rule=INBOUND_NOTICE_RULE)
            row = m.Recording(
                attempt_id=attempt_id,
                campaign_id=attempt.campaign_id,
                debtor_id=attempt.debtor_id,
                store=self.store.name,
                key=key,
                status="recording",
                media_type=MEDIA_TYPE,
                channels=CHANNELS,
                notice=policy.notice,
                notice_rule=policy.notice_rule,
                retention_days=policy.retention_days,
                retention_rule=policy.retention_rule,
                started_at=started_at,
                retain_until=started_at + timedelta(days=policy.retention_days),
            )
            s.add(row)
            s.flush()
            return row.id, policy

    async def finish(
        self, active: ActiveRecording, transcript: Sequence[Turn], ended_at: datetime
    ) -> None:
        """Close and store the file durably, then mark the row complete (in that order)."""

        def settle() -> None:
            facts = active.leg.writer.close()
            self.store.commit(active.key)
            with self.sessions.begin() as s:
                row = s.get_one(m.Recording, active.recording_id)
                row.status = "complete"
                row.size_bytes = facts.size_bytes
                row.sha256 = facts.sha256
                row.duration_ms = facts.duration_ms
                row.timeline = turn_timeline(transcript, active.started_at)
                row.ended_at = ended_at

        await asyncio.to_thread(settle)


def settle_interrupted(
    sessions: sessionmaker[Session], store: RecordingStore, *, now: datetime, actor: str
) -> list[int]:
    """Recordings left ``recording`` by a worker that died: measure, hash and keep what plays.

    A recording is interrupted once its attempt is no longer live (the reaper requeued it,
    or it finished elsewhere) or its lease ran out. Its file ends at the last second the
    worker flushed; the row becomes ``partial`` and the audit log says so.
    """
    settled: list[int] = []
    with sessions.begin() as s:
        rows = s.execute(
            select(m.Recording, m.CallAttempt)
            .join(m.CallAttempt, m.CallAttempt.id == m.Recording.attempt_id)
            .where(m.Recording.status == "recording")
        ).all()
        for row, attempt in rows:
            live = attempt.status in m.LIVE_ATTEMPT_STATUSES and (
                attempt.lease_expires_at is None or attempt.lease_expires_at >= now
            )
            if live:
                continue
            path = store.spool_path(row.key)
            if path.is_file():
                try:
                    repair_partial(path)
                except (subprocess.SubprocessError, OSError) as error:
                    log.warning("recording %s: partial file not repaired: %s", row.id, error)
                facts = file_facts(path)
                store.commit(row.key)
                row.status = "partial"
                row.size_bytes, row.sha256 = facts.size_bytes, facts.sha256
                row.duration_ms = facts.duration_ms
            else:
                row.status = "lost"
            row.ended_at = row.started_at + timedelta(milliseconds=row.duration_ms or 0)
            append_audit(
                s,
                actor=actor,
                action="recording_interrupted",
                debtor_id=row.debtor_id,
                campaign_id=row.campaign_id,
                attempt_id=row.attempt_id,
                reason=f"worker stopped mid-call: recording kept as {row.status}",
                details={"recording_id": row.id, "duration_ms": row.duration_ms},
                at=now,
            )
            outcome = s.scalar(
                select(m.CallRecord).where(m.CallRecord.attempt_id == row.attempt_id)
            )
            if outcome is not None and not outcome.recording_path:
                outcome.recording_path = f"{row.store}:{row.key}"
            settled.append(row.id)
    return settled
