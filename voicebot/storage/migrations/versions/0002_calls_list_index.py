"""Index for the API's calls list (newest first).

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


def upgrade() -> None:
    op.create_index("ix_call_outcomes_started", "call_outcomes", ["started_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_call_outcomes_started", table_name="call_outcomes")
