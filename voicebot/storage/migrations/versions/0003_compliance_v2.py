"""Compliance v2: the debtor's state/región and authorised channels; contacts made elsewhere.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from voicebot.storage.models import UtcDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("debtors") as batch:
        batch.add_column(
            sa.Column("subdivision", sa.String(length=8), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("authorized_channels", sa.JSON(), nullable=True))
    op.create_table(
        "outside_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("debtor_id", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("artificial_voice", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["debtor_id"], ["debtors.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("debtor_id", "at", "channel", "source"),
    )
    op.create_index("ix_outside_contacts_debtor_id", "outside_contacts", ["debtor_id"])


def downgrade() -> None:
    op.drop_index("ix_outside_contacts_debtor_id", table_name="outside_contacts")
    op.drop_table("outside_contacts")
    with op.batch_alter_table("debtors") as batch:
        batch.drop_column("authorized_channels")
        batch.drop_column("subdivision")
