"""Messages after the call: the messages outbox, delivery statuses, inbound texts, payments.

Also a campaign's messaging policy, an opt-out's channel and a promise's link request.

Revision ID: 0006
Revises: 0007 (main merged 0007_console first; the lead may re-chain)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from voicebot.storage.models import UtcDateTime

revision: str = "0006"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(16, 2)


def upgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("messaging", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("opt_outs") as batch:
        batch.add_column(sa.Column("channel", sa.String(length=16), nullable=True))
    with op.batch_alter_table("promises") as batch:
        batch.add_column(sa.Column("link_requested", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("broken_at", UtcDateTime(), nullable=True))
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("debtor_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("promise_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("to", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("template_sid", sa.String(length=40), nullable=False),
        sa.Column("template_variables", sa.JSON(), nullable=False),
        sa.Column("discloses", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("send_by", UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("lease_expires_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("status_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["debtor_id"], ["debtors.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["promise_id"], ["promises.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    op.create_index("ix_messages_debtor_id", "messages", ["debtor_id"])
    op.create_index("ix_messages_provider_id", "messages", ["provider_id"])
    op.create_index("ix_messages_due", "messages", ["status", "next_attempt_at"])
    op.create_table(
        "message_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=16), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_message_events_message_id", "message_events", ["message_id"])
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("debtor_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("sender", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["debtor_id"], ["debtors.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider_id"),
    )
    op.create_index("ix_inbound_messages_debtor_id", "inbound_messages", ["debtor_id"])
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("debt_id", sa.Integer(), nullable=False),
        sa.Column("debtor_id", sa.Integer(), nullable=False),
        sa.Column("promise_id", sa.Integer(), nullable=True),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=120), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["debt_id"], ["debts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["debtor_id"], ["debtors.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["promise_id"], ["promises.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("external_id"),
    )
    op.create_index("ix_payments_debt_id", "payments", ["debt_id"])
    op.create_index("ix_payments_debtor_id", "payments", ["debtor_id"])
    op.create_index("ix_payments_promise_id", "payments", ["promise_id"])


def downgrade() -> None:
    for table, index in (
        ("payments", "ix_payments_promise_id"),
        ("payments", "ix_payments_debtor_id"),
        ("payments", "ix_payments_debt_id"),
        ("inbound_messages", "ix_inbound_messages_debtor_id"),
        ("message_events", "ix_message_events_message_id"),
        ("messages", "ix_messages_due"),
        ("messages", "ix_messages_provider_id"),
        ("messages", "ix_messages_debtor_id"),
    ):
        op.drop_index(index, table_name=table)
    for table in ("payments", "inbound_messages", "message_events", "messages"):
        op.drop_table(table)
    with op.batch_alter_table("promises") as batch:
        batch.drop_column("broken_at")
        batch.drop_column("link_requested")
    with op.batch_alter_table("opt_outs") as batch:
        batch.drop_column("channel")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("messaging")
