"""The console: what an agent records after taking a warm transfer; debtors by last change.

Revision ID: 0007
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from voicebot.storage.models import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(length=120), nullable=False),
        sa.Column("disposition", sa.String(length=8), nullable=False),
        sa.Column("promise_id", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("callback_at", UtcDateTime(), nullable=True),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["transfer_id"], ["transfers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["promise_id"], ["promises.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("transfer_id"),
    )
    with op.batch_alter_table("debtors", schema=None) as batch_op:
        batch_op.create_index("ix_debtors_updated_at", ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("debtors", schema=None) as batch_op:
        batch_op.drop_index("ix_debtors_updated_at")
    op.drop_table("agent_results")
