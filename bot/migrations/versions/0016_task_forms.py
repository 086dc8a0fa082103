"""The desk's task forms: a form's idempotency key, and a task's re-planning revision.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tasks') as batch:
        batch.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('planned_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('form_key', sa.String(length=64), nullable=True))
        batch.create_unique_constraint(batch.f('uq_tasks_form_key'), ['form_key'])


def downgrade() -> None:
    with op.batch_alter_table('tasks') as batch:
        batch.drop_constraint(batch.f('uq_tasks_form_key'), type_='unique')
        batch.drop_column('form_key')
        batch.drop_column('planned_at')
        batch.drop_column('revision')
