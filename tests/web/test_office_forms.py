"""The office's Flask-WTF forms (kiosk/web/forms.py): a field parsed once, strictly, with the
same Chinese refusal the page showed before, and what was typed shown again beside it."""

from __future__ import annotations

from datetime import date

import pytest
from flask import request

from inventory import donations
from kiosk import standards
from kiosk.extensions import db
from kiosk.web.forms import (
    AuditFilterForm,
    DateRangeForm,
    OfficeForm,
    StandardItemForm,
    WholeNumberField,
)

POINTS_REFUSAL = "分值必须是非零整数：加分写正数，扣分写负数"


@pytest.fixture
def office(client, admin):
    r = client.post("/login/password", data={"username": "admin1", "password": "secret123"})
    assert r.status_code == 302
    return client


@pytest.mark.parametrize("points", ["abc", "1.5", "", "٣", "1_0", "99999999999"])
def test_a_new_standard_with_bad_points_is_refused_and_kept(office, supermarket, points):
    r = office.post("/intake/standards", data={"code": "K9", "title": "乱倒垃圾", "points": points})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert POINTS_REFUSAL in page
    assert 'value="K9"' in page and "乱倒垃圾" in page  # what was typed, shown again
    assert standards.list_items(supermarket.id) == []


def test_points_left_out_entirely_are_refused(office, supermarket):
    r = office.post("/intake/standards", data={"code": "K9", "title": "乱倒垃圾"})
    assert r.status_code == 422 and POINTS_REFUSAL in r.get_data(as_text=True)


@pytest.mark.parametrize(("points", "stored"), [("-2", -2), ("+4", 4), ("４", 4), (" 3分 ", 3)])
def test_points_are_read_as_the_import_reads_them(office, supermarket, points, stored):
    r = office.post(
        "/intake/standards", data={"code": " K9 ", "title": " 乱倒垃圾 ", "points": points}
    )
    assert r.status_code == 302
    (item,) = standards.list_items(supermarket.id)
    assert (item.code, item.title, item.points) == ("K9", "乱倒垃圾", stored)


def test_a_correction_keeps_its_place_when_the_order_is_not_a_number(office, supermarket, admin):
    item = standards.create_item(supermarket.id, code="K1", title="打扫卫生", points=2, actor=admin)
    before = item.sort_order
    r = office.post(
        f"/intake/standards/{item.id}",
        data={"title": "打扫卫生", "points": "3", "sort_order": "-1", "active": "1"},
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert (item.points, item.sort_order, item.active) == (3, before, True)
    r = office.post(
        f"/intake/standards/{item.id}",
        data={"title": "打扫卫生", "points": "x", "sort_order": "7", "active": "1"},
    )
    assert r.status_code == 422 and POINTS_REFUSAL in r.get_data(as_text=True)
    db.session.expire_all()
    assert item.points == 3


def test_a_whole_number_field_uses_the_strict_parser(app):
    class Form(OfficeForm):
        n = WholeNumberField(message="请填写整数")

    for typed, expected in (("12", 12), (" -3 ", -3)):
        with app.test_request_context(method="POST", data={"n": typed}):
            form = Form()
            assert form.validate() and form.n.data == expected
    for typed in ("١٢", "+", "1e3", "0x10", "2147483648"):
        with app.test_request_context(method="POST", data={"n": typed}):
            form = Form()
            assert not form.validate()
            assert form.first_error() == "请填写整数"
            assert form.typed() == {"n": typed.strip()}


def test_the_standard_form_checks_no_token_itself(app, monkeypatch):
    # CSRFProtect checks every POST before a view runs; the form does not ask again.
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    with app.test_request_context(method="POST", data={"code": "K1", "title": "x", "points": "1"}):
        assert StandardItemForm().validate()


def test_a_new_donor_is_read_through_the_form(office, supermarket):
    r = office.post(
        "/fund/donors",
        data={
            "name": "  王德福 ",
            "kind": "xiangxian",
            "contact": " 13800000000 ",
            "publish_full_name": "1",
            "next": "/fund/donations/new?form=cash",
        },
    )
    assert r.status_code == 302
    (donor,) = donations.list_donors(supermarket.id)
    assert (donor.name, donor.contact, donor.publish_full_name, donor.active) == (
        "王德福",
        "13800000000",
        True,
        True,
    )
    assert r.headers["Location"].endswith(f"/fund/donations/new?form=cash&donor_id={donor.id}")


def test_a_refused_donor_keeps_what_was_typed(office, supermarket):
    r = office.post(
        "/fund/donors",
        data={"name": "王德福", "kind": "", "next": "/fund/donations/new?form=goods"},
    )
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "请选择捐赠方类别" in page
    assert 'value="王德福"' in page and 'value="/fund/donations/new?form=goods"' in page
    assert donations.list_donors(supermarket.id) == []


@pytest.mark.parametrize("ids", [["12x"], ["-1"], ["9999999999"], ["１"], ["1", ""]])
def test_ticked_proposals_must_be_row_ids(office, supermarket, ids):
    r = office.post(
        "/intake/proposals/decide",
        data={"ids": ids, "decision": "approve"},
        follow_redirects=True,
    )
    assert "所选的加减分不正确" in r.get_data(as_text=True)


@pytest.mark.parametrize("item", ["", "0", "abc", "٣", "2147483648"])
def test_a_self_report_names_a_standard_by_its_row_id(client, supermarket, item):
    r = client.post(
        "/self/report",
        data={"payload": "JF0000000101XXXXXXXXXX", "standard_item_id": item, "reason": "挑水"},
    )
    assert r.status_code == 400
    assert "请选择做的是哪一项好事" in r.get_data(as_text=True)


def test_the_log_filters_are_read_through_a_form(app):
    query = {
        "from": "2026-11-30",
        "to": " 2026-11-01 ",
        "actor": "x7",
        "subject_id": "-3",
        "action": " user.add ",
    }
    with app.test_request_context(query_string=query):
        form = AuditFilterForm(formdata=request.args)
        assert form.problems() == ["开始日期晚于结束日期", "对象编号应为数字"]
        assert (form.day_from.data, form.day_to.data) == (date(2026, 11, 1), date(2026, 11, 30))
        assert (form.actor_id(), form.object_id(), form.action.data) == (None, None, "user.add")
    with app.test_request_context(query_string={"from": "2026-02-30", "to": "昨天"}):
        form = AuditFilterForm(formdata=request.args)
        assert form.problems() == ["日期格式不正确：2026-02-30", "日期格式不正确：昨天"]
        assert (form.day_from.data, form.day_to.data, form.q.data) == (None, None, "")


def test_a_span_of_days_blank_means_the_pages_default(app):
    with app.test_request_context(query_string={"start": " ", "end": "2026-11-30"}):
        form = DateRangeForm(formdata=request.args)
        assert form.validate() and (form.start.data, form.end.data) == (None, date(2026, 11, 30))
    with app.test_request_context(query_string={"start": "2026-11-31"}):
        form = DateRangeForm(formdata=request.args)
        assert not form.validate() and form.start.data is None
