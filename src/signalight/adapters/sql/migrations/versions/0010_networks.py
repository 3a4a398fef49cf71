"""Networks: named groups of member cities, and who may see them side by side.

``networks`` holds each network's slug and name; ``network_cities`` its
member cities; ``network_roles`` the users who may see it (``viewer`` or
``admin``). A network role shows each member city's headline figures only:
opening a city still needs a role in that city (``memberships``). Deleting a
city, a user or a network deletes its rows here.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "networks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.UniqueConstraint("slug", name="uq_networks_slug"),
    )
    op.create_table(
        "network_cities",
        sa.Column(
            "network_id",
            sa.Integer,
            sa.ForeignKey("networks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "city_id", sa.Integer, sa.ForeignKey("cities.id", ondelete="CASCADE"), nullable=False
        ),
        sa.PrimaryKeyConstraint("network_id", "city_id"),
    )
    op.create_table(
        "network_roles",
        sa.Column(
            "network_id",
            sa.Integer,
            sa.ForeignKey("networks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("network_id", "user_id"),
        sa.CheckConstraint("role IN ('viewer', 'admin')", name="role"),
    )
    # A user's networks: the lookup every GET /networks makes.
    op.create_index("ix_network_roles_user", "network_roles", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_network_roles_user", table_name="network_roles")
    op.drop_table("network_roles")
    op.drop_table("network_cities")
    op.drop_table("networks")
