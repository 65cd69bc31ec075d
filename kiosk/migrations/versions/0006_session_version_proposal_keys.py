"""Server-side session ends and idempotent proposals (the security round, issue 16).

- ``users.session_version``: raised by logout, a password or PIN change, deactivation and a
  role change; a session cookie carries the version it was opened under and is refused once
  the user's version has moved on.
- ``point_proposals.idempotency_key``: a client's key for a proposal (API, phone), unique, so
  a retried POST returns the proposal it made the first time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 01:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("point_proposals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint("uq_point_proposals_idempotency_key", ["idempotency_key"])


def downgrade():
    with op.batch_alter_table("point_proposals", schema=None) as batch_op:
        batch_op.drop_constraint("uq_point_proposals_idempotency_key", type_="unique")
        batch_op.drop_column("idempotency_key")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_version")
