"""support tickets: complaints and handoffs (kind, category, orders proved, language,
sentiment, summary, agent, rating), and agents' private notes

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shopmate.db.columns

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="handoff")
        )
        batch_op.add_column(sa.Column("category", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("order_number", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("orders_proved", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("language", sa.String(length=8), nullable=False, server_default="zh")
        )
        batch_op.add_column(
            sa.Column("sentiment", sa.String(length=16), nullable=False, server_default="neutral")
        )
        batch_op.add_column(sa.Column("summary", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("agent", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("rating", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "updated_at",
                shopmate.db.columns.UTCDateTime(timezone=True),
                nullable=False,
                server_default=sa.func.current_timestamp(),
            )
        )
        batch_op.add_column(
            sa.Column("closed_at", shopmate.db.columns.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_check_constraint(
            "ticket_rating_1_to_5", "rating IS NULL OR rating BETWEEN 1 AND 5"
        )
        batch_op.create_index("ticket_queue", ["status", "created_at"], unique=False)

    op.create_table(
        "ticket_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", shopmate.db.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_notes_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_notes_ticket_id"))
    op.drop_table("ticket_notes")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ticket_queue")
        batch_op.drop_constraint("ticket_rating_1_to_5", type_="check")
        for column in (
            "closed_at",
            "updated_at",
            "rating",
            "agent",
            "summary",
            "sentiment",
            "language",
            "orders_proved",
            "order_number",
            "category",
            "kind",
        ):
            batch_op.drop_column(column)
