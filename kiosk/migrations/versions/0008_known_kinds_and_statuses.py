"""Kinds and statuses are closed sets: a CHECK constraint on every kind, status, role, reason
and form column, with exactly the values the models' StrEnums hold (kiosk.choices). The stored
strings do not change; a row outside its set (none is ever written) would stop the upgrade.

The values are written out here, not imported from the models, so this revision stays what it
was when the models move on; tests/ops/test_migrations.py holds the two to each other.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 05:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# table → column → the values it may hold
KNOWN = {
    "households": {"status": ("active", "inactive")},
    "cards": {"status": ("active", "revoked")},
    "point_entries": {
        "kind": (
            "award",
            "deduction",
            "redemption",
            "reversal",
            "conversion",
            "veto_clear",
            "expiry",
            "base_grant",
        )
    },
    "redemptions": {"status": ("completed", "voided")},
    "users": {"role": ("keeper", "admin", "supervisor", "recorder")},
    "print_jobs": {
        "kind": ("receipt", "test_page", "card", "stock_in", "donation", "month_end", "closing"),
        "status": ("queued", "sending", "printed", "failed"),
    },
    "import_batches": {
        "kind": ("households", "points", "scores"),
        "status": ("previewed", "committed"),
    },
    "point_proposals": {"status": ("pending", "approved", "rejected", "withdrawn")},
    "notices": {"status": ("draft", "published", "superseded", "discarded")},
    "objections": {"status": ("open", "upheld", "rejected")},
    "products": {"kind": ("goods", "service")},
    "stock_movements": {
        "kind": ("stock_in", "redemption", "void_return", "adjustment", "donation_in", "count")
    },
    "fund_entries": {"kind": ("donation", "purchase", "reversal")},
    "stock_adjustments": {
        "reason": ("damage", "expiry", "loss"),
        "status": ("pending", "approved", "rejected"),
    },
    "donors": {
        "kind": (
            "xiangxian",
            "enterprise",
            "partner_unit",
            "village_collective",
            "town_reward",
            "individual",
        )
    },
    "donations": {"form": ("cash", "goods"), "status": ("recorded", "reversed")},
    "stocktakes": {"status": ("counting", "submitted", "approved", "posted", "cancelled")},
    "stocktake_counts": {"kind": ("add", "set", "clear")},
}

# SQLite adds a CHECK by copying the table (batch mode); the notices' partial unique index is
# dropped first and made again afterwards, so its WHERE clause cannot be lost in the copy.
PUBLISHED_INDEX = "uq_notices_published_period"


def _published_index():
    op.create_index(
        PUBLISHED_INDEX,
        "notices",
        ["supermarket_id", "period"],
        unique=True,
        sqlite_where=sa.text("status = 'published'"),
        postgresql_where=sa.text("status = 'published'"),
    )


def upgrade():
    op.drop_index(PUBLISHED_INDEX, table_name="notices")
    for table, columns in KNOWN.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, values in columns.items():
                allowed = ", ".join(f"'{value}'" for value in values)
                batch_op.create_check_constraint(f"ck_{table}_{column}", f"{column} IN ({allowed})")
    _published_index()


def downgrade():
    op.drop_index(PUBLISHED_INDEX, table_name="notices")
    for table, columns in reversed(KNOWN.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_constraint(f"ck_{table}_{column}", type_="check")
    _published_index()
