"""series_watches and series_alerts: chats that follow a figure series, and the alerts queued

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "series_watches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("series_slug", sa.String(length=300), nullable=False),
        sa.Column("series_name", sa.String(length=300), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("anchor_claim_id", sa.Integer(), nullable=False),
        sa.Column("seen_claim_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_series_watches_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series_watches")),
        sa.UniqueConstraint("subscription_id", "series_slug", name="uq_series_watches_sub_slug"),
    )
    op.create_index(
        op.f("ix_series_watches_subscription_id"),
        "series_watches",
        ["subscription_id"],
        unique=False,
    )
    op.create_table(
        "series_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("series_slug", sa.String(length=300), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_series_alerts_delivery_id_deliveries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_series_alerts_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series_alerts")),
        sa.UniqueConstraint(
            "subscription_id", "claim_id", "unit", name="uq_series_alerts_sub_claim_unit"
        ),
    )
    op.create_index(
        op.f("ix_series_alerts_subscription_id"),
        "series_alerts",
        ["subscription_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_series_alerts_subscription_id"), table_name="series_alerts")
    op.drop_table("series_alerts")
    op.drop_index(op.f("ix_series_watches_subscription_id"), table_name="series_watches")
    op.drop_table("series_watches")
