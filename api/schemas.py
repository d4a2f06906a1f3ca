"""Request and response bodies: the API's contract, kept apart from the ORM rows."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from api.fields import BoundedJson, DbInt, Moment, NonNegativeMoney, PositiveMoney, text

T = TypeVar("T")

Role = Literal["admin", "manager", "agent", "auditor"]
Jurisdiction = Literal["CO", "CL", "MX", "PE", "US"]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page (lists that support it)"
    )


class Row(BaseModel):
    """Built from ORM rows by attribute, never returned as the rows themselves."""

    model_config = ConfigDict(from_attributes=True)


# ---------------------------------------------------------------- keys and agents


class ApiKeyCreate(BaseModel):
    name: str = text(120, min_length=1)
    role: Role


class ApiKeyOut(Row):
    id: int
    name: str
    role: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="Shown once; only its hash is stored.")


SIP_URI = (
    r"^(sips?:[A-Za-z0-9._~!$&'()*+,;=:%-]+@[A-Za-z0-9.\-\[\]:]+(;[^\s]*)?|\+[1-9][0-9]{6,14})?$"
)


class AgentCreate(BaseModel):
    name: str = text(120, min_length=1)
    sip_uri: str = Field(
        default="",
        max_length=200,
        pattern=SIP_URI,
        description="Where transfers ring: `sip:user@host` or an E.164 number",
    )


class AgentOut(Row):
    id: int
    name: str
    sip_uri: str
    status: str
    updated_at: datetime


class AgentCreated(AgentOut):
    key: str = Field(description="The agent's API key, shown once.")


class AgentStatusIn(BaseModel):
    status: Literal["available", "busy", "offline"]


class TransferOut(Row):
    id: int
    attempt_id: int
    debtor_id: int
    reason: str
    status: str
    agent: str | None
    created_at: datetime
    accepted_at: datetime | None


# ---------------------------------------------------------------- portfolios


class PortfolioJson(BaseModel):
    default_region: str = Field(pattern=r"^[A-Za-z]{2}$", description="ISO country, e.g. CO")
    campaign_id: DbInt | None = None
    default_creditor: str = text(120)
    rows: list[BoundedJson] = Field(min_length=1, max_length=100_000)


class RowErrorOut(BaseModel):
    line: int
    column: str
    reason: str


class ImportReportOut(BaseModel):
    rows: int
    imported: int
    debtors_created: int
    debtors_updated: int
    debts_created: int
    debts_updated: int
    phones_created: int
    errors: list[RowErrorOut]


# ---------------------------------------------------------------- campaigns


class Limits(BaseModel):
    min_payment: NonNegativeMoney = Decimal(0)
    max_days_ahead: int = Field(default=30, ge=0, le=365)
    max_instalments: int = Field(default=6, ge=1, le=60)
    min_instalment: NonNegativeMoney = Decimal(0)


class CampaignCreate(BaseModel):
    name: str = text(120, min_length=1)
    dialplan: str = text(
        300,
        default="cobranza_es",
        description="A file in the dialplans folder (the one holding VOICEBOT_DIALPLAN), with or without .yaml",
    )
    jurisdiction: Jurisdiction
    default_region: str = Field(pattern=r"^[A-Za-z]{2}$")
    company: str = text(120)
    callback_number: str = Field(default="", max_length=32, pattern=r"^\+?[0-9 ()\-]*$")
    limits: Limits = Field(default_factory=lambda: Limits())
    schedule: BoundedJson = Field(default_factory=dict, description="Tighter campaign hours")
    settings: BoundedJson = Field(default_factory=dict, description="Dialplan overrides")
    max_concurrent: int = Field(default=10, ge=1, le=1000)
    calls_per_second: float = Field(default=1.0, gt=0, le=100, allow_inf_nan=False)
    retry_policy: BoundedJson = Field(default_factory=dict)


class CampaignOut(Row):
    id: int
    name: str
    dialplan: str
    status: str
    jurisdiction: str
    default_region: str
    company: str
    callback_number: str
    limits: dict[str, Any]
    schedule: dict[str, Any]
    settings: dict[str, Any]
    max_concurrent: int
    calls_per_second: float
    retry_policy: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class CampaignChange(BaseModel):
    campaign: CampaignOut
    attempts_queued: int = 0
    attempts_cancelled: int = 0


# ---------------------------------------------------------------- debtors


class PhoneOut(Row):
    id: int
    e164: str
    kind: str
    status: str
    invalid_reason: str


class DebtOut(Row):
    id: int
    external_ref: str
    creditor: str
    amount: Decimal
    currency: str
    days_past_due: int
    product: str
    status: str


class DebtorOut(Row):
    id: int
    external_id: str
    full_name: str
    document_id: str
    segment: str
    region: str
    subdivision: str
    timezone: str | None
    authorized_channels: list[str] | None


class AttemptOut(Row):
    id: int
    campaign_id: int
    number: int
    kind: str
    status: str
    due_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    disposition: str | None


class PromiseOut(Row):
    id: int
    debtor_id: int
    campaign_id: int
    attempt_id: int
    amount: Decimal
    currency: str
    due_date: date
    instalments: int
    partial: bool
    status: str
    paid_amount: Decimal | None
    kept_at: datetime | None
    created_at: datetime


class OptOutOut(Row):
    id: int
    debtor_id: int
    phone: str | None
    source: str
    reason: str
    attempt_id: int | None
    created_at: datetime


class MessageStatusOut(Row):
    status: str
    error_code: str
    at: datetime


class MessageOut(Row):
    """A text sent (or refused, or waiting) to the debtor, with every delivery status."""

    id: int
    kind: str
    channel: str
    to: str
    body: str
    status: str
    attempts: int
    last_error: str
    created_at: datetime
    sent_at: datetime | None
    status_at: datetime | None
    statuses: list[MessageStatusOut] = Field(default_factory=list)


class InboundMessageOut(Row):
    """A text the debtor sent us: an opt-out, or words for the agent to read."""

    id: int
    channel: str
    sender: str
    body: str
    action: str
    received_at: datetime


class DebtorHistory(BaseModel):
    debtor: DebtorOut
    phones: list[PhoneOut]
    debts: list[DebtOut]
    attempts: list[AttemptOut]
    promises: list[PromiseOut]
    opt_outs: list[OptOutOut]
    messages: list[MessageOut] = Field(default_factory=list)
    inbound_messages: list[InboundMessageOut] = Field(default_factory=list)


class OptOutIn(BaseModel):
    reason: str = text(200)
    phone: str | None = Field(
        default=None,
        max_length=40,
        description="Only this number (one of the debtor's, E.164 or as imported); "
        "omit for every channel",
    )


class OutsideContactBody(BaseModel):
    """A contact made outside this service: every frequency cap counts it."""

    at: datetime = Field(description="When, ISO 8601 with a UTC offset")
    channel: Literal["voice", "sms", "email", "whatsapp", "agent", "visit"]
    result: Literal["no_answer", "busy", "voicemail", "answered", "conversation"]
    source: str = Field(min_length=1, max_length=80, description="Who reports it: crm, agency…")
    phone: str | None = Field(default=None, max_length=20)
    artificial_voice: bool = False


class OutsideContactOut(Row):
    id: int
    debtor_id: int
    at: datetime
    channel: str
    result: str
    source: str
    phone: str | None
    artificial_voice: bool
    recorded_at: datetime


class PromiseKeptIn(BaseModel):
    paid_amount: PositiveMoney = Field(description="At most 14 digits and 2 decimals")
    paid_at: Moment | None = Field(default=None, description="Aware ISO 8601 (with an offset)")


# ---------------------------------------------------------------- calls


class CallSummary(Row):
    id: int
    attempt_id: int
    campaign_id: int
    debtor_id: int
    disposition: str
    right_party: bool
    opt_out: bool
    transfer_reason: str | None
    started_at: datetime
    ended_at: datetime
    direction: Literal["outbound", "inbound"] = Field(
        default="outbound", description="inbound: the debtor called the callback number"
    )


class TurnOut(BaseModel):
    at: datetime
    speaker: str
    text: str
    intent: str | None = None
    confidence: float | None = Field(default=None, description="ASR confidence of a debtor turn")
    prompt: str | None = None


class CallDetail(CallSummary):
    disclosure: bool
    phone_invalid: bool
    callback_at: datetime | None
    dispute_reason: str | None
    paid_info: str | None
    final_state: str
    transcript: list[TurnOut]
    promise: PromiseOut | None = None
    recording_url: str | None = None


class TransferContextOut(BaseModel):
    transfer: TransferOut
    debtor: DebtorOut
    debts: list[DebtOut]
    transcript: list[TurnOut]
    context: dict[str, Any]


# ---------------------------------------------------------------- dialplans and webhooks


class DialplanFile(BaseModel):
    name: str
    file: str
    valid: bool
    problems: int


class DialplanValid(BaseModel):
    valid: bool
    states: int
    prompts: int


class DeliveryOut(Row):
    id: int
    event_type: str
    idempotency_key: str
    payload: dict[str, Any]
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    attempts: int
    last_error: str


# --- call recordings (issue 19) ------------------------------------------------------------


class TimelineMark(BaseModel):
    turn: int = Field(description="index into the call's transcript")
    speaker: str
    offset_ms: int = Field(description="where the turn is in the recording, from its first sample")


class RecordingInfo(BaseModel):
    """What a player needs beside the audio: its layout, integrity and where each turn is."""

    url: str
    media_type: str
    channels: list[str] = Field(description='channel order in the file, e.g. ["bot", "far_end"]')
    sample_rate: int
    status: str = Field(description="complete, or partial (the worker stopped mid-call)")
    duration_ms: int | None
    size_bytes: int | None
    sha256: str | None
    notice: bool = Field(description="the call opened with the recording notice")
    notice_rule: str
    retain_until: datetime
    retention_rule: str
    timeline: list[TimelineMark]
