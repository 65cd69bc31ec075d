"""Donations recorded over the API are safe to retry (issue 20).

- ``donations.idempotency_key``: a client's key for a donation, stored namespaced by its user
  (``api:<user id>:<key>``, as ``point_proposals.idempotency_key``), unique, so a retried POST
  returns the donation it recorded the first time: no second pool entry, no second receipt
  number. Donations recorded before this revision have none.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 05:50:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("donations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint("uq_donations_idempotency_key", ["idempotency_key"])


def downgrade():
    with op.batch_alter_table("donations", schema=None) as batch_op:
        batch_op.drop_constraint("uq_donations_idempotency_key", type_="unique")
        batch_op.drop_column("idempotency_key")
