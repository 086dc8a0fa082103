"""A report's period apart from its deadline; reports by month and for nine months.

`tasks.report_period` names the period a report covers (its data cut-off is computed
from it); `due_on` stays the send deadline. Tasks may recur every month: the recurrence
column is text with a CHECK constraint listing the allowed values (bot.models._enum),
rebuilt with "month" added.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _allow(values: Sequence[str]) -> None:
    listed = ", ".join(f"'{v}'" for v in values)
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_tasks_recurrence'), type_='check')
        batch_op.create_check_constraint(op.f('ck_tasks_recurrence'), f"recurrence IN ({listed})")


def upgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('report_period', sa.String(length=20), nullable=True))
    _allow(['quarter', 'half', 'year', 'month'])


def downgrade() -> None:
    op.execute("UPDATE tasks SET recurrence = NULL WHERE recurrence = 'month'")
    _allow(['quarter', 'half', 'year'])
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('report_period')
