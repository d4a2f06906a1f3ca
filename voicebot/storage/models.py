"""What the service remembers: debtors, campaigns, attempts, outcomes, promises, the audit log.

SQLAlchemy 2.0 typed models; the schema is created only by the Alembic migrations
in ``storage/migrations`` (a test checks models and migrations agree). Timestamps
are timezone-aware UTC on every backend.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

LIVE_ATTEMPT_STATUSES = ("claimed", "dialing", "in_call")
ONE_LIVE_DIAL = "status IN ('claimed', 'dialing', 'in_call') AND direction = 'outbound'"


def utc_now() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC in and out; SQLite stores naive text, so the zone is restored on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Money = Numeric(16, 2)


class Base(DeclarativeBase):
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UtcDateTime(),
        Decimal: Money,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


# A caller's ID document as its digits, in SQL: the expression the index below is built on and
# the one an inbound lookup filters by (the same text, so both databases use the index).
DOCUMENT_DIGITS_SQL = "replace(replace(replace(document_id, '.', ''), '-', ''), ' ', '')"


class Debtor(Base):
    __tablename__ = "debtors"
    # A caller who types their document is found by index, not by scanning the portfolio.
    __table_args__ = (Index("ix_debtors_document_digits", text(DOCUMENT_DIGITS_SQL)),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)  # the creditor's key
    full_name: Mapped[str] = mapped_column(String(200))
    document_id: Mapped[str] = mapped_column(String(40), default="", index=True)
    gender: Mapped[str] = mapped_column(String(1), default="")
    timezone: Mapped[str | None] = mapped_column(String(64))  # None: derive from the phone
    region: Mapped[str] = mapped_column(String(16), default="")  # ISO country (+ subdivision)
    segment: Mapped[str] = mapped_column(String(40), default="")
    preferred_hours: Mapped[str] = mapped_column(String(40), default="")  # e.g. "18:00-20:00"
    preferred_channel: Mapped[str] = mapped_column(String(16), default="")
    tcpa_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    subdivision: Mapped[str] = mapped_column(String(8), default="")  # state/región: MA, WA, RM
    # The channels the debtor authorised (Ley 2300 art. 2); None: never recorded.
    authorized_channels: Mapped[list[Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # Indexed: a live dashboard re-reads its members' segments only when a debtor changed.
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now, index=True)

    phones: Mapped[list[Phone]] = relationship(back_populates="debtor", order_by="Phone.priority")
    debts: Mapped[list[Debt]] = relationship(back_populates="debtor", order_by="Debt.id")


class Phone(Base):
    __tablename__ = "phones"
    # Leads with debtor_id: it is also the index of a debtor's phones (no second one to keep).
    __table_args__ = (UniqueConstraint("debtor_id", "e164"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="unknown")  # mobile | landline | unknown
    status: Mapped[str] = mapped_column(String(16), default="valid")  # valid | invalid
    invalid_reason: Mapped[str] = mapped_column(String(200), default="")
    priority: Mapped[int] = mapped_column(Integer, default=0)

    debtor: Mapped[Debtor] = relationship(back_populates="phones")


class Debt(Base):
    __tablename__ = "debts"
    # Leads with debtor_id: it is also the index of a debtor's debts (no second one to keep).
    __table_args__ = (UniqueConstraint("debtor_id", "external_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"))
    external_ref: Mapped[str] = mapped_column(String(64))
    creditor: Mapped[str] = mapped_column(String(120))
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    days_past_due: Mapped[int] = mapped_column(Integer, default=0)
    product: Mapped[str] = mapped_column(String(80), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | disputed | paid

    debtor: Mapped[Debtor] = relationship(back_populates="debts")


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    dialplan: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft|running|paused|stopped
    jurisdiction: Mapped[str] = mapped_column(String(8))  # CO | CL | MX | PE | US
    default_region: Mapped[str] = mapped_column(String(2))  # for phone numbers without +
    company: Mapped[str] = mapped_column(String(120), default="")
    callback_number: Mapped[str] = mapped_column(String(32), default="")
    # Creditor negotiation limits: min_payment, max_days_ahead, max_instalments, min_instalment.
    limits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)  # dialplan setting overrides
    schedule: Mapped[dict[str, Any]] = mapped_column(default=dict)  # campaign's own hours (tighter)
    max_concurrent: Mapped[int] = mapped_column(Integer, default=10)
    calls_per_second: Mapped[float] = mapped_column(default=1.0)
    retry_policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Call recordings: {"notice": bool, "retention_days": int} on top of the law (migration 0003).
    recording_policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Messages after the call (migration 0006): channel, link template and secret, reminders.
    messaging: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class CampaignDebtor(Base):
    __tablename__ = "campaign_debtors"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    debtor_id: Mapped[int] = mapped_column(
        ForeignKey("debtors.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    priority: Mapped[int] = mapped_column(Integer, default=0)
    added_at: Mapped[datetime] = mapped_column(default=utc_now)


class CallAttempt(Base):
    """One dial of one phone: the hopper row workers claim."""

    __tablename__ = "call_attempts"
    __table_args__ = (
        Index("ix_attempts_due", "status", "due_at"),
        Index("ix_attempts_campaign_status", "campaign_id", "status"),
        # The console's live tally: counts by status and what ended lately, index-only (the id
        # too: PostgreSQL's indexes, unlike SQLite's, do not carry the row id).
        Index("ix_attempts_campaign_live", "campaign_id", "status", "direction", "ended_at", "id"),
        # Never two live dials for one debtor, whatever the workers do. A call the debtor makes
        # (inbound) is answered even while a worker dials them: it is outside the index.
        Index(
            "uq_attempts_one_live_per_debtor",
            "debtor_id",
            unique=True,
            sqlite_where=text(ONE_LIVE_DIAL),
            postgresql_where=text(ONE_LIVE_DIAL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    phone_id: Mapped[int | None] = mapped_column(ForeignKey("phones.id", ondelete="SET NULL"))
    number: Mapped[int] = mapped_column(Integer, default=1)  # attempt number for this debtor
    kind: Mapped[str] = mapped_column(
        String(16), default="first"
    )  # first|retry|callback|reminder|check
    status: Mapped[str] = mapped_column(String(16), default="queued")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(default=utc_now)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    disposition: Mapped[str | None] = mapped_column(String(8))
    carrier_call_id: Mapped[str | None] = mapped_column(String(120))
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # "inbound": the debtor called the callback number (kind "inbound"; never dialed).
    direction: Mapped[str] = mapped_column(String(8), default="outbound", server_default="outbound")
    caller_id: Mapped[str | None] = mapped_column(String(20))  # inbound: the caller's E.164


class CallRecord(Base):
    """The outcome of one finished attempt (one row per attempt: writes are idempotent)."""

    __tablename__ = "call_outcomes"
    # The API's calls list pages newest first, filtered by campaign, disposition or debtor:
    # without these every page sorts the matching rows (100k calls: ~0.5 s per page).
    __table_args__ = (
        Index("ix_call_outcomes_started", "started_at", "id"),
        Index("ix_call_outcomes_campaign_started", "campaign_id", "started_at", "id"),
        Index(
            "ix_call_outcomes_campaign_disposition_started",
            "campaign_id",
            "disposition",
            "started_at",
            "id",
        ),
        Index("ix_call_outcomes_disposition_started", "disposition", "started_at", "id"),
        Index("ix_call_outcomes_debtor_started", "debtor_id", "started_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("call_attempts.id", ondelete="CASCADE"), unique=True
    )
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    disposition: Mapped[str] = mapped_column(String(8), index=True)
    right_party: Mapped[bool] = mapped_column(Boolean, default=False)
    disclosure: Mapped[bool] = mapped_column(Boolean, default=False)
    opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    phone_invalid: Mapped[bool] = mapped_column(Boolean, default=False)
    transfer_reason: Mapped[str | None] = mapped_column(String(64))
    callback_at: Mapped[datetime | None]
    dispute_reason: Mapped[str | None] = mapped_column(Text)
    paid_info: Mapped[str | None] = mapped_column(Text)
    final_state: Mapped[str] = mapped_column(String(64), default="")
    transcript: Mapped[list[Any]] = mapped_column(default=list)
    recording_path: Mapped[str | None] = mapped_column(String(300))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    direction: Mapped[str] = mapped_column(
        String(8), default="outbound", server_default="outbound", index=True
    )


class PromiseToPay(Base):
    __tablename__ = "promises"

    id: Mapped[int] = mapped_column(primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("call_attempts.id", ondelete="CASCADE"), unique=True
    )
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    due_date: Mapped[date] = mapped_column(Date, index=True)
    instalments: Mapped[int] = mapped_column(Integer, default=1)
    partial: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | kept | broken
    paid_amount: Mapped[Decimal | None]
    kept_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # The debtor's answer to "¿Le envío el enlace de pago…?": sms | whatsapp | none; None: not asked.
    link_requested: Mapped[str | None] = mapped_column(String(16))
    broken_at: Mapped[datetime | None]


class Callback(Base):
    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    source_attempt_id: Mapped[int] = mapped_column(
        ForeignKey("call_attempts.id", ondelete="CASCADE"), unique=True
    )
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|scheduled|done


class OptOut(Base):
    __tablename__ = "opt_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))  # None: every channel
    # None: every channel; sms | whatsapp: only texts through it (an inbound STOP).
    channel: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))  # call | api | import | message
    reason: Mapped[str] = mapped_column(String(200), default="")
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("call_attempts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class OutsideContact(Base):
    """A contact made outside this service (an agent, an SMS, another system): caps count it.

    Re-recording the same contact (same debtor, time, channel, source) changes nothing,
    so a file of contacts can be imported twice.
    """

    __tablename__ = "outside_contacts"
    __table_args__ = (UniqueConstraint("debtor_id", "at", "channel", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(16))  # voice|sms|email|whatsapp|agent|visit
    result: Mapped[str] = mapped_column(
        String(16)
    )  # no_answer|busy|voicemail|answered|conversation
    source: Mapped[str] = mapped_column(String(80))  # who reports it: "crm", "agencia-x"
    phone: Mapped[str | None] = mapped_column(String(20))
    artificial_voice: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime] = mapped_column(default=utc_now)


class AuditEntry(Base):
    """Every contact decision and why: the record a regulator or a debtor's complaint asks for.

    Append-only, enforced twice: the repositories offer only ``append_audit`` (no update
    or delete path), and migration 0001 installs triggers that reject UPDATE and DELETE
    on this table (a plpgsql trigger on PostgreSQL, ``RAISE(ABORT)`` triggers on SQLite).
    A retention purge is therefore a deliberate act: a migration or a DBA session must
    drop the trigger first.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40), index=True)
    debtor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    attempt_id: Mapped[int | None] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(80), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboxEvent(Base):
    """Webhook deliveries written in the same transaction as what they report."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_type: Mapped[str] = mapped_column(String(40))
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utc_now)
    delivered_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # admin | manager | agent | auditor
    prefix: Mapped[str] = mapped_column(String(12), index=True)
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[datetime | None]


class TransferRequest(Base):
    """A warm transfer waiting for, or taken by, an agent: the context they see first."""

    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("call_attempts.id", ondelete="CASCADE"), index=True
    )
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(64))
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting|accepted|failed
    agent: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    accepted_at: Mapped[datetime | None]


class AgentResult(Base):
    """What the agent who took a warm transfer recorded after talking to the debtor."""

    __tablename__ = "agent_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(
        ForeignKey("transfers.id", ondelete="CASCADE"), unique=True
    )
    agent: Mapped[str] = mapped_column(String(120))
    disposition: Mapped[str] = mapped_column(String(8))
    promise_id: Mapped[int | None] = mapped_column(ForeignKey("promises.id", ondelete="SET NULL"))
    notes: Mapped[str] = mapped_column(Text, default="")
    callback_at: Mapped[datetime | None]  # CB: when this agent calls the debtor back
    recorded_at: Mapped[datetime] = mapped_column(default=utc_now)


class Agent(Base):
    """A human who takes warm transfers; availability drives who gets the next one."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    sip_uri: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="offline")  # available|busy|offline
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


# --- call recordings (issue 19) ----------------------------------------------------------


class Recording(Base):
    """One call's two-channel recording: where it is, what it hashes to, how long it is kept.

    Created when the call is answered (status ``recording``), so a worker that dies mid-call
    leaves a row pointing to its partial file; ``complete`` once the file is durable (before
    the call's outcome commits), ``partial`` when an interrupted one was settled, ``purged``
    once retention deleted the file (the row stays: the audit trail refers to it).
    """

    __tablename__ = "recordings"
    __table_args__ = (Index("ix_recordings_status_retain", "status", "retain_until"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Not unique: an attempt a dead worker left is dialled again, and each try is recorded.
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("call_attempts.id", ondelete="CASCADE"), index=True
    )
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    store: Mapped[str] = mapped_column(String(16))  # local | s3
    key: Mapped[str] = mapped_column(String(200), unique=True)  # opaque, sharded, no debtor data
    status: Mapped[str] = mapped_column(String(16), default="recording")
    media_type: Mapped[str] = mapped_column(String(40), default="audio/flac")
    channels: Mapped[list[Any]] = mapped_column(default=list)  # e.g. ["bot", "far_end"]
    sample_rate: Mapped[int] = mapped_column(Integer, default=8000)
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    notice: Mapped[bool] = mapped_column(Boolean, default=False)  # the debtor was told first
    notice_rule: Mapped[str] = mapped_column(String(120), default="")
    retention_days: Mapped[int] = mapped_column(Integer)
    retention_rule: Mapped[str] = mapped_column(String(120), default="")
    timeline: Mapped[list[Any]] = mapped_column(default=list)  # transcript turns' offsets (ms)
    started_at: Mapped[datetime]  # the file's first sample, on the call's clock
    ended_at: Mapped[datetime | None]
    retain_until: Mapped[datetime]
    purged_at: Mapped[datetime | None]


class LegalHold(Base):
    """A dispute or complaint that keeps every recording of a debtor until it is released."""

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(40))  # dispute | complaint | litigation | ...
    note: Mapped[str] = mapped_column(Text, default="")
    placed_by: Mapped[str] = mapped_column(String(120))
    placed_at: Mapped[datetime] = mapped_column(default=utc_now)
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(120))


# --- messages after the call (issue 16) --------------------------------------------------


class Message(Base):
    """One text to a debtor, and the outbox row that sends it at most once.

    ``status``: pending → claimed → the provider's (accepted, queued, sent, delivered, read,
    undelivered, failed). A row is marked ``claimed`` in its own committed transaction
    before the provider is asked, so a sender that dies before recording the answer leaves
    ``claimed`` behind and the next sender marks it ``unknown`` instead of texting the
    debtor twice. ``refused``: compliance said no (audited); ``expired``: it could not
    lawfully leave before ``send_by``; ``failed``: the provider refused it for good.
    """

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    promise_id: Mapped[int | None] = mapped_column(ForeignKey("promises.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(24))  # payment_link | reminder
    channel: Mapped[str] = mapped_column(String(16))  # sms | whatsapp
    to: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    # WhatsApp: the approved template sent instead of the body (which stays for the history).
    template_sid: Mapped[str] = mapped_column(String(40), default="")
    template_variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    discloses: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    provider: Mapped[str] = mapped_column(String(16), default="")
    provider_id: Mapped[str | None] = mapped_column(String(64), index=True)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utc_now)
    send_by: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    sent_at: Mapped[datetime | None]
    status_at: Mapped[datetime | None]


class MessageStatusEvent(Base):
    """Every delivery status the provider reported (signature-checked), in arrival order."""

    __tablename__ = "message_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str] = mapped_column(String(16), default="")
    at: Mapped[datetime] = mapped_column(default=utc_now)


class InboundMessage(Base):
    """A text a debtor sent us: an opt-out, or words kept on their history for agents."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64), unique=True)  # Twilio retries: once
    debtor_id: Mapped[int | None] = mapped_column(
        ForeignKey("debtors.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text, default="")
    action: Mapped[str] = mapped_column(String(16))  # opt_out | stored | unknown_sender
    received_at: Mapped[datetime] = mapped_column(default=utc_now)


class Payment(Base):
    """A payment the creditor reported; imported once (``external_id``), matched to a promise."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    debt_id: Mapped[int] = mapped_column(ForeignKey("debts.id", ondelete="CASCADE"), index=True)
    debtor_id: Mapped[int] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    promise_id: Mapped[int | None] = mapped_column(
        ForeignKey("promises.id", ondelete="SET NULL"), index=True
    )
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    paid_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(120), default="")
    recorded_at: Mapped[datetime] = mapped_column(default=utc_now)
