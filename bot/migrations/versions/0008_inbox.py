"""Updates stored before they are acknowledged (the inbox); replies found by message id
(indexes on the outbox, the note and delegate questions); broadcasts queued in chunks.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inbox',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('person', sa.BigInteger(), nullable=True),
    sa.Column('state', sa.Enum('pending', 'handled', 'done', 'failed', 'dropped', name='inboxstate', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('replies', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('update_id', name=op.f('pk_inbox'))
    )
    op.create_index('ix_inbox_due', 'inbox', ['state', 'due_at'], unique=False)
    # A broadcast's copies are queued in chunks.
    op.add_column('announcements', sa.Column('recipients', sa.Integer(), nullable=True))
    op.add_column('announcements', sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True))
    # A reply to a reminder or to a question finds it by (chat, message id).
    op.create_index('ix_outbox_message', 'outbox', ['chat_id', 'message_id'], unique=False)
    op.create_index('ix_status_reports_prompt', 'status_reports', ['prompt_chat_id', 'prompt_message_id'], unique=False)
    op.create_index('ix_meeting_responses_prompt', 'meeting_responses', ['prompt_chat_id', 'prompt_message_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_meeting_responses_prompt', table_name='meeting_responses')
    op.drop_index('ix_status_reports_prompt', table_name='status_reports')
    op.drop_index('ix_outbox_message', table_name='outbox')
    op.drop_index('ix_inbox_due', table_name='inbox')
    op.drop_table('inbox')
    with op.batch_alter_table('announcements') as batch:
        batch.drop_column('queued_at')
        batch.drop_column('recipients')
