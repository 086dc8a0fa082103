"""Absences (/away, /back, `members away`): a member away and their stand-in.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'absences',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('stand_in_id', sa.Integer(), nullable=True),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['member_id'], ['members.id'],
            name=op.f('fk_absences_member_id_members'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['stand_in_id'], ['members.id'],
            name=op.f('fk_absences_stand_in_id_members'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_absences')),
    )
    op.create_index('ix_absences_member', 'absences', ['member_id', 'ends_on'], unique=False)
    op.create_index(
        op.f('ix_absences_stand_in_id'), 'absences', ['stand_in_id'], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_absences_stand_in_id'), table_name='absences')
    op.drop_index('ix_absences_member', table_name='absences')
    op.drop_table('absences')
