"""Indexes for the API's calls list (newest first, filtered by campaign, disposition, debtor).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_call_outcomes_started": ["started_at", "id"],
    "ix_call_outcomes_campaign_started": ["campaign_id", "started_at", "id"],
    "ix_call_outcomes_campaign_disposition_started": [
        "campaign_id",
        "disposition",
        "started_at",
        "id",
    ],
    "ix_call_outcomes_disposition_started": ["disposition", "started_at", "id"],
    "ix_call_outcomes_debtor_started": ["debtor_id", "started_at", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "call_outcomes", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="call_outcomes")
