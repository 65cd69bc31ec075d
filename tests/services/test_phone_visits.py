"""The monthly visit list (月记录) on both databases: per village group, which households the
assessment group recorded in the month and which not yet; on the phone, in the office and as
XLSX."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from kiosk import intake, visits
from kiosk.errors import ValidationFailed
from kiosk.extensions import db
from tests import factories


@pytest.fixture
def lanes(supermarket):
    homes = []
    for number, group in (("0101", "一组"), ("0102", "一组"), ("0201", "二组"), ("0202", "二组")):
        home = factories.household(supermarket, number=number, head_name=f"户主{number}")
        home.group_name = group
        homes.append(home)
    db.session.commit()
    recorder = factories.user("pingyi1", "recorder", supermarket)
    admin = factories.user("admin1", "admin", supermarket)

    def record(home, day, actor=recorder):
        return intake.propose(
            supermarket.id,
            intake.ProposalInput(home.id, day, amount=1, reason="走访"),
            actor=actor,
        )

    record(homes[0], date(2026, 1, 5))
    record(homes[0], date(2026, 1, 20))
    record(homes[2], date(2025, 12, 31))  # last month: not this one
    withdrawn = record(homes[3], date(2026, 1, 7), actor=admin)
    intake.withdraw(withdrawn.id, actor=admin)
    return {"homes": homes, "sm": supermarket}


def test_month_visits_by_group(lanes):
    groups = visits.month_visits(lanes["sm"].id, date(2026, 1, 1))
    by_name = {g.group: g for g in groups}
    assert list(by_name) == ["一组", "二组"]
    one, two = by_name["一组"], by_name["二组"]
    assert [(h.number, n) for h, n in one.recorded] == [("0101", 2)]
    assert [h.number for h in one.missing] == ["0102"]
    assert two.recorded == []  # December's record and a withdrawn one do not count
    assert [h.number for h in two.missing] == ["0201", "0202"]
    december = {g.group: g for g in visits.month_visits(lanes["sm"].id, date(2025, 12, 1))}
    assert [h.number for h, _n in december["二组"].recorded] == ["0201"]


def test_parse_month():
    today = date(2026, 3, 9)
    assert visits.parse_month("", today) == date(2026, 3, 1)
    assert visits.parse_month("2026-01", today) == date(2026, 1, 1)
    for bad in ("2026-1", "2026-13", "abcd-ef", "2026-04", "1999-12"):
        with pytest.raises(ValidationFailed):
            visits.parse_month(bad, today)


def login(client, username):
    client.post("/logout")
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code == 302


def test_visit_page_and_xlsx(client, lanes):
    factories.user("keeper1", "keeper", lanes["sm"], pin="1234")
    factories.user("super1", "supervisor", lanes["sm"])
    login(client, "pingyi1")
    html = client.get("/m/visits?month=2026-01").get_data(as_text=True)
    assert "已记录 1 / 2 户" in html and "0102 户主0102" in html
    assert client.get("/m/visits?month=2026-99").status_code == 400
    r = client.get("/m/visits.xlsx?month=2026-01")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.data)).active
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert ["一组", "0101", "户主0101", "已记录", 2] in [list(v[:5]) for v in values]
    assert ["二组", "0202", "户主0202", "未记录", 0] in [list(v[:5]) for v in values]
    login(client, "super1")
    assert client.get("/m/visits").status_code == 200
    assert "/m/visits" in client.get("/intake").get_data(as_text=True)
    login(client, "keeper1")
    assert client.get("/m/visits").status_code == 403
    assert client.get("/m/visits.xlsx").status_code == 403


def test_places_kept_by_admins_feed_the_phone(client, lanes):
    from kiosk import places
    from kiosk.errors import DuplicateValue

    factories.user("super1", "supervisor", lanes["sm"])
    login(client, "admin1")
    r = client.post("/m/places", data={"name": " 村口 广场 "})
    assert r.status_code == 302
    assert client.post("/m/places", data={"name": ""}).status_code == 422
    with pytest.raises(DuplicateValue):
        places.add_place(lanes["sm"].id, "村口 广场", actor=None)
    html = client.get("/m/").get_data(as_text=True)
    assert '<option value="村口 广场">' in html
    assert '<option value="一组">' not in html  # the village's own list replaces the groups
    place = places.list_places(lanes["sm"].id)[0]
    client.post(f"/m/places/{place.id}/active", data={"active": "0"})
    html = client.get("/m/").get_data(as_text=True)
    assert '<option value="村口 广场">' not in html and '<option value="一组">' in html
    login(client, "super1")
    assert client.get("/m/places").status_code == 200
    assert client.post("/m/places", data={"name": "后山"}).status_code == 403
    login(client, "pingyi1")
    assert client.get("/m/places").status_code == 403
    assert [p.name for p in places.list_places(lanes["sm"].id)] == ["村口 广场"]
