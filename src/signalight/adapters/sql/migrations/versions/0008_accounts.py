"""Accounts: API tokens can be revoked, and an audit log of what was done to each account.

``api_tokens.revoked_at`` marks a token taken away before its time; the row
stays so that a user's list of tokens shows it. ``audit_log`` holds who did
what to which account (a token issued or revoked, a user added, disabled,
enabled or removed, a role set), written in the same transaction as the
change. Each entry is linked in ``audit_cities`` to the cities it concerns
(the account's cities at the time, or the one city of a role change), so a
city's admins read their city's entries; the target is kept by name, so an
entry outlives the account.

Downgrading deletes revoked tokens first: without the column they would be
accepted again.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("revoked_at", sa.DateTime(timezone=True)))
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
    )
    op.create_table(
        "audit_cities",
        sa.Column(
            "city_id", sa.Integer, sa.ForeignKey("cities.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "audit_id",
            sa.Integer,
            sa.ForeignKey("audit_log.id", ondelete="CASCADE"),
            nullable=False,
        ),
        # City first: a city's entries, newest first, are one range of the key.
        sa.PrimaryKeyConstraint("city_id", "audit_id"),
    )


def downgrade() -> None:
    op.drop_table("audit_cities")
    op.drop_table("audit_log")
    op.execute("DELETE FROM api_tokens WHERE revoked_at IS NOT NULL")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("revoked_at")
