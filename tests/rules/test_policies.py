"""The policy service: which rule set a supermarket runs, switching it, and the preview."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from inventory.models import Product
from inventory.products import policy_for as products_policy_for
from kiosk.assessments import record_assessment
from kiosk.check import run_checks
from kiosk.errors import NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.models import AuditEvent, Supermarket
from kiosk.rules import Policy, policies, presets
from tests import factories


def test_a_supermarket_without_a_policy_runs_the_default(app, supermarket):
    policy = policies.policy_for(supermarket)
    assert policy == Policy(points_per_yuan=1)
    assert products_policy_for(supermarket) == policy  # inventory delegates


@pytest.mark.parametrize("key", ["datong", "gaoyang", "zhaili", "yangting"])
def test_set_a_preset_is_stored_read_back_and_audited(app, supermarket, admin, key):
    chosen = policies.set_policy(supermarket.id, presets.preset(key), actor=admin)
    assert chosen == presets.preset(key)
    db.session.expire_all()
    sm = db.session.get(Supermarket, supermarket.id)
    assert policies.policy_for(sm) == presets.preset(key)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "policy.set"))
    assert event.actor_id == admin.id and event.data["preset"] == key
    assert event.supermarket_id == supermarket.id


def test_a_new_points_rate_reprices_every_product(app, supermarket, admin):
    soap = factories.product(supermarket, name="香皂", cost_fen=250, stock_qty=5)
    assert soap.points_price == 3  # ceil(2.5)
    doubled = dataclasses.replace(presets.preset("yangting"), points_per_yuan=2)
    policies.set_policy(supermarket.id, doubled, actor=admin)
    db.session.expire_all()
    assert db.session.get(Product, soap.id).points_price == 5
    assert db.session.get(Supermarket, supermarket.id).points_per_yuan == 2
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "policy.set"))
    assert event.data["repriced"] == 1
    assert run_checks() == []


def test_an_invalid_policy_is_refused_and_nothing_changes(app, supermarket, admin):
    broken = dataclasses.replace(presets.preset("gaoyang"), holder="nobody")
    with pytest.raises(ValidationFailed):
        policies.set_policy(supermarket.id, broken, actor=admin)
    with pytest.raises(ValidationFailed):
        policies.set_policy(supermarket.id, {"name": "x"}, actor=admin)  # not a Policy
    db.session.expire_all()
    assert db.session.get(Supermarket, supermarket.id).policy is None
    assert (
        db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "policy.set")
        )
        == 0
    )


def test_unknown_supermarket(app, admin):
    with pytest.raises(NotFound):
        policies.set_policy(999, presets.preset("datong"), actor=admin)
    with pytest.raises(NotFound):
        policies.preview(999, presets.preset("datong"), date(2024, 1, 10))


def test_preview_shows_every_household_under_a_policy_before_switching(
    app, supermarket, monkeypatch
):
    factories.pin_clock(monkeypatch, datetime(2024, 3, 1, 10, 0))
    rich = factories.household(supermarket, points=160, head_name="张三丰", number="A001")
    poor = factories.household(supermarket, points=100, head_name="李四", number="A002")
    record_assessment(rich.id, "2024Q1", 90, actor=None)  # household score, default policy
    gaoyang = presets.preset("gaoyang")
    january = policies.preview(supermarket.id, gaoyang, date(2024, 1, 10))
    assert [s.number for s in january] == ["A001", "A002"]
    first, second = january
    assert (first.household_id, first.head_name, first.balance) == (rich.id, "张三丰", 160)
    assert first.earned_total == 160
    assert first.decision.may_redeem and first.decision.spendable == 60
    assert second.household_id == poor.id
    assert not second.decision.may_redeem and second.decision.spendable == 0
    february = policies.preview(supermarket.id, gaoyang, date(2024, 2, 10))
    assert not any(s.decision.may_redeem for s in february)
    # 下次可兑换 only for the household that may redeem then (the other has only the base).
    assert [s.decision.next_open for s in february] == [date(2024, 4, 1), None]
    # The preview changed nothing: the supermarket still runs the default policy.
    db.session.expire_all()
    assert db.session.get(Supermarket, supermarket.id).policy is None
    with pytest.raises(ValidationFailed):
        policies.preview(supermarket.id, gaoyang, "2024-01-10")
