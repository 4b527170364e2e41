"""index article_sources.url: the per-feed URL dedup lookup scanned the table

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-20
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("article_sources", schema=None) as batch_op:
        batch_op.create_index("ix_article_sources_url", ["url"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("article_sources", schema=None) as batch_op:
        batch_op.drop_index("ix_article_sources_url")
