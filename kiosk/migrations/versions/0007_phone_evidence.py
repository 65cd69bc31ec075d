"""The assessment group's phone (issue 19): where and when, photos, the village's places.

- ``point_proposals``: ``occurred_at`` (the moment, UTC), ``place``, ``location`` (the phone's
  position when the recorder allowed it) and ``self_reported`` (群众自主申报).
- ``proposal_photos``: evidence photos by content hash (files under instance/files/evidence).
- ``village_places``: the places a village keeps for the phone's 地点 list.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 02:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("point_proposals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("occurred_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("place", sa.String(length=100), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("location", sa.String(length=60), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("self_reported", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "proposal_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["point_proposals.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("proposal_id", "position"),
    )
    with op.batch_alter_table("proposal_photos", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_proposal_photos_proposal_id"), ["proposal_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_proposal_photos_sha256"), ["sha256"], unique=False)
    op.create_table(
        "village_places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supermarket_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["supermarket_id"], ["supermarkets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("supermarket_id", "name"),
    )
    with op.batch_alter_table("village_places", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_village_places_supermarket_id"), ["supermarket_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("village_places", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_village_places_supermarket_id"))
    op.drop_table("village_places")
    with op.batch_alter_table("proposal_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_photos_sha256"))
        batch_op.drop_index(batch_op.f("ix_proposal_photos_proposal_id"))
    op.drop_table("proposal_photos")
    with op.batch_alter_table("point_proposals", schema=None) as batch_op:
        batch_op.drop_column("self_reported")
        batch_op.drop_column("location")
        batch_op.drop_column("place")
        batch_op.drop_column("occurred_at")
