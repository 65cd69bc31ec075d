"""The household register over the API (GET /api/v1/households.xlsx): every household and
member of the caller's supermarket in the households import's columns, with their states and
balances; admins and supervisors only; another supermarket's households never in it; the file
checks clean as a households import into an empty supermarket (it can be imported again)."""

from __future__ import annotations

from datetime import date

from kiosk import households, imports
from kiosk.api.listing import XLSX_MIME
from kiosk.export import read_rows
from kiosk.models import IMPORT_HOUSEHOLDS
from tests import factories
from tests.api.test_api_helpers import api_for, error_code

URL = "/api/v1/households.xlsx"


def _village(supermarket):
    first = factories.household(
        supermarket, number="A-01", head_name="张三丰", members=["张三丰", "李秀英"], points=30
    )
    households.add_member(
        first.id,
        households.MemberInput("张小明", relation="子女", birth_date=date(2010, 5, 1)),
        actor=None,
    )
    second = factories.household(supermarket, number="A-02", head_name="王大明")
    households.set_household_status(second.id, False, actor=None, reason="迁出")
    gone = first.members[1]
    households.set_member_status(gone.id, False, reason="去世", actor=None)
    return first, second


def test_the_register_lists_every_member_with_states_and_balances(
    client, admin, supervisor, supermarket
):
    _village(supermarket)
    other = factories.supermarket(code="GY01", name="高阳村积分超市")
    factories.household(other, number="G-01", head_name="赵六")
    r = api_for(client, supervisor).get(URL)
    assert r.status_code == 200 and r.mimetype == XLSX_MIME
    assert "attachment" in r.headers["Content-Disposition"]
    rows = read_rows(r.data)
    header = rows.index(
        ["户号", "户主", "村", "组", "成员", "关系", "出生日期", "户状态", "成员状态", "积分余额"]
    )
    body = [row[:10] for row in rows[header + 1 :] if row[0] not in (None, "")]
    body = [row for row in body if str(row[0]).startswith("A-") or str(row[0]).startswith("G-")]
    assert [(row[0], row[4], row[5], row[6], row[7], row[8], row[9]) for row in body] == [
        ("A-01", "张三丰", None, None, "正常", "正常", 30),
        ("A-01", "李秀英", None, None, "正常", "停用", 30),
        ("A-01", "张小明", "子女", "2010-05-01", "正常", "正常", 30),
        ("A-02", "王大明", None, None, "停用", "正常", 0),
    ]
    assert api_for(client, admin).get(URL).status_code == 200


def test_the_register_imports_again_into_an_empty_supermarket(client, admin, supermarket):
    _village(supermarket)
    data = api_for(client, admin).get(URL).data
    fresh = factories.supermarket(code="XC01", name="新村积分超市")
    checked = imports.check_file(fresh.id, IMPORT_HOUSEHOLDS, data, "register.xlsx")
    assert checked.ok, checked.messages()
    assert checked.totals["households"] == 2
    assert len(checked.rows) == 4
    assert set(checked.ignored) == {"户状态", "成员状态", "积分余额"}


def test_keepers_and_recorders_get_no_register(client, keeper, supermarket):
    factories.household(supermarket, number="A-01")
    for user in (keeper, factories.user("recorder1", "recorder", supermarket)):
        r = api_for(client, user).get(URL)
        assert r.status_code == 403 and error_code(r) == "forbidden"
