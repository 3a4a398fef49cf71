"""Inventory versions: a number per city that every change of its assets or devices moves on.

The fault detector keeps each device's profile (its asset, status, cabinet)
in memory; it reads these numbers every tick and reloads the profiles of a
city whose number moved, so that an asset removed, a device unbound or an
asset taken out of service is judged as such within a second, in whichever
process the change was made.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inventory_versions",
        sa.Column(
            "city_id",
            sa.Integer,
            sa.ForeignKey("cities.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("version", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("inventory_versions")
