"""Drop three indexes that a wider index already covers (issue 7).

Each redemption wrote an entry into every index of the rows it inserts or moves. These three
only repeat the first column of another index, which serves the same look-ups:

- ``ix_redemptions_supermarket_id``: ``ix_redemptions_supermarket_created`` (and the receipt
  number's unique index) begin with ``supermarket_id``;
- ``ix_stock_movements_product_id``: ``ix_stock_movements_product_created`` begins with
  ``product_id``;
- ``ix_products_supermarket_id``: the unique (``supermarket_id``, ``sku``) index begins with it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 22:00:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COVERED = (
    ("redemptions", "ix_redemptions_supermarket_id", "supermarket_id"),
    ("stock_movements", "ix_stock_movements_product_id", "product_id"),
    ("products", "ix_products_supermarket_id", "supermarket_id"),
)


def upgrade():
    for table, name, _column in COVERED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)


def downgrade():
    for table, name, column in COVERED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, [column], unique=False)
