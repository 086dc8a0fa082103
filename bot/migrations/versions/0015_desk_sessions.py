"""The desk: one-time sign-in links and signed-in sessions (hashes only).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'desk_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('telegram_user_id', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_desk_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_desk_links_token_hash')),
    )
    op.create_table(
        'desk_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_hash', sa.String(length=64), nullable=False),
        sa.Column('telegram_user_id', sa.BigInteger(), nullable=False),
        sa.Column('via', sa.String(length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_desk_sessions')),
        sa.UniqueConstraint('session_hash', name=op.f('uq_desk_sessions_session_hash')),
    )
    op.create_index(
        op.f('ix_desk_sessions_telegram_user_id'), 'desk_sessions', ['telegram_user_id']
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_desk_sessions_telegram_user_id'), table_name='desk_sessions')
    op.drop_table('desk_sessions')
    op.drop_table('desk_links')
