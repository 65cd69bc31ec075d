from kiosk.redemption import CartLine, redeem
from tests import factories


def test_redeem_end_to_end(app, supermarket, keeper):
    hh = factories.household(supermarket, points=100)
    _, payload = factories.card(hh)
    rice = factories.product(supermarket, cost_fen=2550, stock_qty=5)
    r = redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(rice.id, 2)],
        keeper=keeper,
        idempotency_key="key-00000001",
    )
    assert r.total_points == 52
    assert r.balance_after == 48
    from kiosk.check import run_checks

    assert run_checks() == []
