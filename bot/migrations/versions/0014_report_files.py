"""Report files: documents members send as their agency's report on a task, and the
state of their download into FILES_DIR.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'report_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('telegram_file_id', sa.String(length=255), nullable=False),
        sa.Column('file_unique_id', sa.String(length=100), nullable=False),
        sa.Column('file_name', sa.String(length=255), nullable=True),
        sa.Column('mime_type', sa.String(length=100), nullable=True),
        sa.Column('file_size', sa.BigInteger(), nullable=True),
        sa.Column('media_group_id', sa.String(length=64), nullable=True),
        sa.Column('doc_number', sa.String(length=100), nullable=True),
        sa.Column('doc_date', sa.Date(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('stored_path', sa.String(length=300), nullable=True),
        sa.Column('download_attempts', sa.Integer(), nullable=False),
        sa.Column('download_error', sa.Text(), nullable=True),
        sa.Column('download_due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('downloaded_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['agency_id'], ['agencies.id'],
            name=op.f('fk_report_files_agency_id_agencies'), ondelete='RESTRICT',
        ),
        sa.ForeignKeyConstraint(
            ['member_id'], ['members.id'],
            name=op.f('fk_report_files_member_id_members'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['task_id'], ['tasks.id'],
            name=op.f('fk_report_files_task_id_tasks'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_files')),
        sa.UniqueConstraint(
            'task_id', 'agency_id', 'file_unique_id', name='uq_report_files_file'
        ),
    )
    op.create_index(
        'ix_report_files_task', 'report_files', ['task_id', 'agency_id', 'received_at']
    )
    op.create_index('ix_report_files_download', 'report_files', ['download_due_at'])


def downgrade() -> None:
    op.drop_index('ix_report_files_download', table_name='report_files')
    op.drop_index('ix_report_files_task', table_name='report_files')
    op.drop_table('report_files')
