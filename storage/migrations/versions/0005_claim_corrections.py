"""claim_corrections: verdicts and provenance changed when an older story arrives late

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claim_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("old_verdict", sa.String(length=16), nullable=False),
        sa.Column("new_verdict", sa.String(length=16), nullable=False),
        sa.Column("old_matched_claim_id", sa.Integer(), nullable=True),
        sa.Column("new_matched_claim_id", sa.Integer(), nullable=True),
        sa.Column("old_root_claim_id", sa.Integer(), nullable=True),
        sa.Column("new_root_claim_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claims.id"],
            name=op.f("fk_claim_corrections_claim_id_claims"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_corrections")),
    )
    op.create_index(
        op.f("ix_claim_corrections_claim_id"), "claim_corrections", ["claim_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_claim_corrections_claim_id"), table_name="claim_corrections")
    op.drop_table("claim_corrections")
