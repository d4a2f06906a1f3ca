"""Drop the debtor_id indexes of phones and debts: their unique keys already cover them.

The unique keys (debtor_id, e164) and (debtor_id, external_ref) lead with debtor_id, so
they serve every lookup by debtor (and the cascade from debtors) as well as the plain
indexes did; the plain ones were only upkeep on every imported phone and debt.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("phones", schema=None) as batch_op:
        batch_op.drop_index("ix_phones_debtor_id")
    with op.batch_alter_table("debts", schema=None) as batch_op:
        batch_op.drop_index("ix_debts_debtor_id")


def downgrade() -> None:
    with op.batch_alter_table("debts", schema=None) as batch_op:
        batch_op.create_index("ix_debts_debtor_id", ["debtor_id"], unique=False)
    with op.batch_alter_table("phones", schema=None) as batch_op:
        batch_op.create_index("ix_phones_debtor_id", ["debtor_id"], unique=False)
