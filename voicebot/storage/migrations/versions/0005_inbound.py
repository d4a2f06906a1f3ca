"""Inbound calls: an attempt's and an outcome's direction, and the caller's number.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_attempts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("direction", sa.String(length=8), nullable=False, server_default="outbound")
        )
        batch_op.add_column(sa.Column("caller_id", sa.String(length=20), nullable=True))
    with op.batch_alter_table("call_outcomes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("direction", sa.String(length=8), nullable=False, server_default="outbound")
        )
        batch_op.create_index("ix_call_outcomes_direction", ["direction"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call_outcomes", schema=None) as batch_op:
        batch_op.drop_index("ix_call_outcomes_direction")
        batch_op.drop_column("direction")
    with op.batch_alter_table("call_attempts", schema=None) as batch_op:
        batch_op.drop_column("caller_id")
        batch_op.drop_column("direction")
