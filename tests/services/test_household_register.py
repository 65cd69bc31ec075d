"""The household register (kiosk/reports/households.py): one row per member in the households
import's columns, then the states and the balance; only the supermarket's own households; the
workbook reads back through the import as the same households and members."""

from __future__ import annotations

from datetime import date

from kiosk import households, imports
from kiosk.export import read_rows
from kiosk.models import IMPORT_HOUSEHOLDS
from kiosk.reports.households import register_rows, register_xlsx
from tests import factories


def test_one_row_per_member_with_states_and_balance(app, supermarket):
    first = factories.household(
        supermarket, number="A-01", head_name="张三丰", members=["张三丰", "李秀英"], points=12
    )
    households.add_member(
        first.id,
        households.MemberInput("张小明", relation="子女", birth_date=date(2010, 5, 1)),
        actor=None,
    )
    households.set_member_status(first.members[1].id, False, reason="去世", actor=None)
    other = factories.supermarket(code="GY01", name="高阳村积分超市")
    factories.household(other, number="G-01", head_name="赵六")
    assert register_rows(supermarket.id) == [
        ["A-01", "张三丰", "东村", "", "张三丰", "", "", "正常", "正常", 12],
        ["A-01", "张三丰", "东村", "", "李秀英", "", "", "正常", "停用", 12],
        ["A-01", "张三丰", "东村", "", "张小明", "子女", "2010-05-01", "正常", "正常", 12],
    ]
    assert [row[0] for row in register_rows(other.id)] == ["G-01"]


def test_the_workbook_reads_back_through_the_import(app, supermarket):
    factories.household(supermarket, number="A-01", head_name="张三丰", members=["张三丰", "李四"])
    factories.household(supermarket, number="A-02", head_name="王五")
    data, name = register_xlsx(supermarket)
    assert name.startswith("户籍名册_DT01_") and name.endswith(".xlsx")
    assert read_rows(data)[3][:7] == ["户号", "户主", "村", "组", "成员", "关系", "出生日期"]
    table = imports.read_table(IMPORT_HOUSEHOLDS, data, name)
    assert table.problems == []
    assert [(v["number"], v["member"]) for _, v in table.rows] == [
        ("A-01", "张三丰"),
        ("A-01", "李四"),
        ("A-02", "王五"),
    ]
