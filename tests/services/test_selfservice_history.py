"""Self-service history (自助查询): every name in it masked as the head's is, each entry on the
day its event happened, every ledger kind with a Chinese label; a revoked card's message."""

from __future__ import annotations

from datetime import date

from kiosk import cards, intake
from kiosk.web.selfservice import mask_names
from tests import factories


def test_member_names_in_reasons_are_masked(client, supermarket, admin):
    second = factories.user("admin2", "admin", supermarket)
    hh = factories.household(
        supermarket, head_name="崔大山", members=["崔大山", "崔强峰", "欧阳娜娜"], points=5
    )
    _, payload = factories.card(hh)
    member = next(m for m in hh.members if m.name == "崔强峰")
    proposal = intake.propose(
        supermarket.id,
        intake.ProposalInput(
            hh.id, date(2026, 3, 5), amount=4, member_id=member.id, reason="标准10：文明养犬"
        ),
        actor=admin,
    )
    intake.approve(proposal.id, actor=second)
    factories.points_award(hh, 2, reason="欧阳娜娜和崔大山参加义务劳动")

    response = client.post("/self/scan", json={"payload": payload})
    body = response.get_json()
    text = response.get_data(as_text=True)
    for name in ("崔强峰", "欧阳娜娜", "崔大山"):
        assert name not in text
    reasons = [h["reason"] for h in body["history"]]
    assert reasons[0] == "欧**娜和崔*山参加义务劳动"
    assert reasons[1] == "崔*峰：标准10：文明养犬"
    # The day the event happened (the proposal's date), not the day it was approved.
    assert body["history"][1]["when"] == "2026-03-05"
    assert body["history"][0]["when"] != "2026-03-05"


def test_mask_names_masks_a_longer_name_whole():
    assert mask_names("王小明和王小送货", ["王小", "王小明"]) == "王*明和王*送货"
    assert mask_names("无名", ["", " ", "王"]) == "无名"


def test_every_ledger_kind_has_a_chinese_label():
    from kiosk.models import ENTRY_KINDS
    from kiosk.web.selfservice import ENTRY_LABELS

    assert set(ENTRY_KINDS) <= set(ENTRY_LABELS)


def test_a_revoked_card_without_replacement_at_self_service(client, supermarket):
    hh = factories.household(supermarket, points=10)
    card, payload = factories.card(hh)
    cards.revoke_card(card.id, actor=None, reason="卡片遗失")
    error = client.post("/self/scan", json={"payload": payload}).get_json()["error"]
    assert (error["code"], error["message"]) == ("card_revoked", "卡片已作废，请到村委补办")
