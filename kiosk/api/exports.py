"""The household register (户籍名册) over the API: every household and member of the caller's
supermarket as a workbook in the households import's columns (kiosk.reports.households), for
admins and supervisors, who read the office's household file with full names."""

from __future__ import annotations

from kiosk.api import contract
from kiosk.api.listing import XLSX_ANSWER, xlsx
from kiosk.authn import current_supermarket
from kiosk.reports import households as household_reports


@contract.route(
    "GET",
    "/households.xlsx",
    summary="户籍名册（XLSX，列与“户与成员”导入模板相同）",
    tag="households",
    action="household.read",
    ok=(
        200,
        None,
        "每位成员一行：户号、户主、村、组、成员、关系、出生日期、户状态、成员状态、积分余额",
    ),
    description="改正后可按“户与成员”导入；含已停用的户和成员（注明状态）。",
    openapi=XLSX_ANSWER,
)
def households_xlsx():
    """The household register of this supermarket, as a workbook."""
    return xlsx(*household_reports.register_xlsx(current_supermarket()))
