"""Month closes keep their report's headline (issue 7).

``month_closes.summary``: the stored report's version, ``stock_totals``, ``fund`` and
``tieout`` (a few hundred bytes; a county supermarket's report is half a megabyte), read by
the area report and the openings of later months instead of the whole report. Filled here
for every existing close, one report at a time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 19:00:00

"""

import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SECTIONS = ("stock_totals", "fund", "tieout")


def headline(report):
    """The summary of a stored report (as inventory.monthend.report_summary makes it)."""
    if isinstance(report, str):
        report = json.loads(report)
    if not isinstance(report, dict) or not all(isinstance(report.get(k), dict) for k in SECTIONS):
        return None
    return {"version": report.get("version"), **{k: report[k] for k in SECTIONS}}


def upgrade():
    with op.batch_alter_table("month_closes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("summary", sa.JSON(), nullable=True))

    closes = sa.table(
        "month_closes",
        sa.column("id", sa.Integer),
        sa.column("report", sa.JSON),
        sa.column("summary", sa.JSON),
    )
    conn = op.get_bind()
    ids = [row.id for row in conn.execute(sa.select(closes.c.id).order_by(closes.c.id))]
    # One report in memory at a time: a county's reports together are gigabytes.
    for close_id in ids:
        report = conn.execute(sa.select(closes.c.report).where(closes.c.id == close_id)).scalar()
        summary = headline(report)
        if summary is not None:
            conn.execute(sa.update(closes).where(closes.c.id == close_id).values(summary=summary))


def downgrade():
    with op.batch_alter_table("month_closes", schema=None) as batch_op:
        batch_op.drop_column("summary")
