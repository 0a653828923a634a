"""guest proof attempts: failed phone checks per order number, across conversations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shopmate.db.columns

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "guest_proof_attempts",
        sa.Column("order_number", sa.String(length=16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column(
            "last_failure_at",
            shopmate.db.columns.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("locked_until", shopmate.db.columns.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("failures >= 0", name="guest_proof_failures_not_negative"),
        sa.PrimaryKeyConstraint("order_number"),
    )


def downgrade() -> None:
    op.drop_table("guest_proof_attempts")
