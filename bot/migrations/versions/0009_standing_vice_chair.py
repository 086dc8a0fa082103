"""The role "Phó Chủ tịch Thường trực" (standing_vice_chair): the role column's CHECK
constraint accepts it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = ('chair', 'vice_chair', 'member', 'contact')
NEW_ROLES = ('chair', 'standing_vice_chair', 'vice_chair', 'member', 'contact')


def _role_type(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name='role', native_enum=False, create_constraint=True, length=20)


def upgrade() -> None:
    # The role is text with a CHECK constraint (native_enum=False): a new value is a new
    # constraint. Batch mode rebuilds the table on SQLite, which cannot alter a CHECK.
    with op.batch_alter_table('council_memberships') as batch:
        batch.alter_column(
            'role', existing_type=_role_type(OLD_ROLES), type_=_role_type(NEW_ROLES),
            existing_nullable=False,
        )


def downgrade() -> None:
    # A standing vice chair becomes a vice chair: the nearest role the old schema knows.
    op.execute(
        "UPDATE council_memberships SET role = 'vice_chair' WHERE role = 'standing_vice_chair'"
    )
    with op.batch_alter_table('council_memberships') as batch:
        batch.alter_column(
            'role', existing_type=_role_type(NEW_ROLES), type_=_role_type(OLD_ROLES),
            existing_nullable=False,
        )
