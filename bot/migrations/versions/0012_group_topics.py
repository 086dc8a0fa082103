"""Links to forum topics: one forum group can host several councils, a topic each.

`group_chats.chat_id` was unique (one council per group); the place of a link is now
(chat_id, thread_id), `thread_id` being the topic's message_thread_id, 0 for a plain
group or a forum's General topic (every existing link). `topic_lost_at` marks a link
whose topic was deleted: its posts go to the General topic.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('group_chats', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('thread_id', sa.BigInteger(), server_default='0', nullable=False)
        )
        batch_op.add_column(
            sa.Column('topic_lost_at', sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.drop_constraint(op.f('uq_group_chats_chat_id'), type_='unique')
        batch_op.create_unique_constraint(
            'uq_group_chats_chat_id_thread_id', ['chat_id', 'thread_id']
        )


def downgrade() -> None:
    # Back to one council per group: a group's topic links but the oldest are dropped.
    op.execute(
        "DELETE FROM group_chats WHERE id NOT IN "
        "(SELECT MIN(id) FROM group_chats GROUP BY chat_id)"
    )
    with op.batch_alter_table('group_chats', schema=None) as batch_op:
        batch_op.drop_constraint('uq_group_chats_chat_id_thread_id', type_='unique')
        batch_op.create_unique_constraint(op.f('uq_group_chats_chat_id'), ['chat_id'])
        batch_op.drop_column('topic_lost_at')
        batch_op.drop_column('thread_id')
