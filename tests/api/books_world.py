"""The goods-and-money rows the role matrix (tests/api/test_api_auth.py) addresses: a donation,
a write-off a keeper asked for (so the matrix's admin may decide it), this month, and a stocktake
in the state the route being checked needs (counting, counted, submitted — a keeper downloads
the variance report only then — or approved; none at all when the route starts one, since a
product is in one open count at a time)."""

from __future__ import annotations

from inventory import adjustments, donations, periods, stocktake
from inventory.models import Product
from kiosk import clock
from kiosk.models import Supermarket, User

NO_SUCH_ID = 2_000_000_000


def books_world(
    route: tuple[str, str] | None,
    supermarket: Supermarket,
    keeper: User,
    admin: User,
    product: Product,
) -> dict[str, object]:
    """Ids for the books' routes, ready to put in URLs and bodies."""
    today = clock.local_now().date()
    donor = donations.create_donor(supermarket.id, name="东村企业", kind="enterprise", actor=None)
    gift = donations.record_cash_donation(
        supermarket.id, donor_id=donor.id, amount_fen=5000, donated_on=today, actor=keeper
    )
    write_off = adjustments.request_adjustment(
        supermarket.id, product.id, 1, "damage", note="包装破损", actor=keeper
    )
    ids: dict[str, object] = {
        "donor_id": donor.id,
        "donation_id": gift.id,
        "adjustment_id": write_off.id,
        "month": periods.month_key(clock.local_now()),
        "stocktake_id": NO_SUCH_ID,
    }
    if route == ("POST", "/api/v1/stocktakes"):
        return ids
    st = stocktake.start_count(supermarket.id, actor=keeper)
    ids["stocktake_id"] = st.id
    step = route[1].rsplit("/", 1)[-1] if route else ""
    if step in ("submit", "send-back", "approve", "sign-off", "report.xlsx"):
        stocktake.record_count(
            st.id, actor=keeper, barcode=product.barcode, kind="set", quantity=product.stock_qty
        )
    if step in ("send-back", "approve", "sign-off", "report.xlsx"):
        stocktake.submit(st.id, actor=keeper)
    if step == "sign-off":
        stocktake.approve(st.id, actor=admin)
    return ids
