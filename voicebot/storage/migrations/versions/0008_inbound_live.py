"""Inbound calls live in the hopper: the one-live-attempt index covers dials only.

An identified caller's call is now an attempt while it runs (under its worker's lease, so a
dead worker's call is found and settled). A debtor may call while a worker dials them; that
call must be answered, so the uniqueness of a debtor's live attempt applies to dials alone.
A caller who types their ID document is looked up by an index on its digits.

Revision ID: 0008
Revises: 0006 (after 0007 → 0006 on main)
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "status IN ('claimed', 'dialing', 'in_call')"
LIVE_DIAL = LIVE + " AND direction = 'outbound'"
DOCUMENT_DIGITS = "replace(replace(replace(document_id, '.', ''), '-', ''), ' ', '')"


def _one_live(where: str) -> None:
    with op.batch_alter_table("call_attempts", schema=None) as batch_op:
        batch_op.drop_index("uq_attempts_one_live_per_debtor")
        batch_op.create_index(
            "uq_attempts_one_live_per_debtor",
            ["debtor_id"],
            unique=True,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def upgrade() -> None:
    _one_live(LIVE_DIAL)
    op.create_index("ix_debtors_document_digits", "debtors", [sa.text(DOCUMENT_DIGITS)])


def downgrade() -> None:
    op.drop_index("ix_debtors_document_digits", table_name="debtors")
    _one_live(LIVE)
