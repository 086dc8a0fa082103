"""A group's own language, set by an admin with /lang in the group.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'chat_languages',
        sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('set_by', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('chat_id', name=op.f('pk_chat_languages')),
    )


def downgrade() -> None:
    op.drop_table('chat_languages')
