"""The desk's meeting form: its idempotency key, so the same form sent twice makes one
meeting (as tasks.form_key does for the task form).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('meetings') as batch:
        batch.add_column(sa.Column('form_key', sa.String(length=64), nullable=True))
        batch.create_unique_constraint(batch.f('uq_meetings_form_key'), ['form_key'])


def downgrade() -> None:
    with op.batch_alter_table('meetings') as batch:
        batch.drop_constraint(batch.f('uq_meetings_form_key'), type_='unique')
        batch.drop_column('form_key')
