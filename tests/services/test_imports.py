"""Importing spreadsheets: all rows or none, every bad row reported by its number, in Chinese."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.orm import Session

from kiosk import imports, intake, standards
from kiosk.check import run_checks
from kiosk.errors import (
    ImportAlreadyCommitted,
    ImportInvalid,
    SelfApprovalRefused,
    ValidationFailed,
)
from kiosk.export import read_rows
from kiosk.extensions import db
from kiosk.models import (
    PROPOSAL_APPROVED,
    Assessment,
    AuditEvent,
    Household,
    ImportBatch,
    Member,
    PointAccount,
    PointProposal,
)
from kiosk.search_keys import build_search_key
from tests import factories

HOUSEHOLD_HEADERS = ["户号", "户主", "村", "组", "成员", "关系", "出生日期"]


def xlsx(rows: list[list], title: str | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list], encoding: str) -> bytes:
    text = "\r\n".join(",".join(str(c) for c in row) for row in rows) + "\r\n"
    return text.encode(encoding)


@pytest.fixture
def clock(monkeypatch):
    factories.pin_clock(monkeypatch, datetime(2024, 5, 20, 10, 0))


@pytest.fixture
def admin2(supermarket):
    return factories.user("admin2", "admin", supermarket, display_name="周委员")


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_valid_workbook_commits_every_household_and_member(supermarket, admin, clock):
    data = xlsx(
        [
            HOUSEHOLD_HEADERS,
            ["A-01", "张三丰", "东村", "一组", "张三丰", "户主", datetime(1958, 3, 21)],
            ["A-01", "", "", "", "李秀英", "配偶", "1960/7/2"],
            [None, None, None, None, None, None, None],  # blank rows are skipped
            ["A-02", "王建国", "东村", "二组", "王建国", "户主", "1971年11月15日"],
        ],
        title="户与成员导入模板",
    )
    batch, checked = imports.preview_import(
        supermarket.id, "households", "户.xlsx", data, actor=admin
    )
    assert checked.ok and checked.messages() == []
    assert [r.number for r in checked.rows] == [3, 4, 6]  # sheet row numbers under the title
    assert checked.totals["households"] == 2 and checked.totals["members"] == 3
    assert _count(Household) == 0  # the preview writes no household
    result = imports.commit_import(batch.id, actor=admin)
    assert result.written == {"households": 2, "members": 3}
    homes = {h.number: h for h in db.session.scalars(sa.select(Household))}
    assert homes["A-01"].head_name == "张三丰" and homes["A-01"].group_name == "一组"
    people = [(m.name, m.relation, m.birth_date) for m in homes["A-01"].members]
    assert people == [("张三丰", "户主", date(1958, 3, 21)), ("李秀英", "配偶", date(1960, 7, 2))]
    assert homes["A-02"].members[0].birth_date == date(1971, 11, 15)
    assert _count(PointAccount) == 2
    commits = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "import.commit")
    ).all()
    assert len(commits) == 1 and commits[0].data["households"] == 2
    assert db.session.get(ImportBatch, batch.id).status == "committed"


def test_a_large_import_writes_in_batches_not_row_by_row(supermarket, admin, clock, monkeypatch):
    """A town's register (thousands of households) is written a batch of households a flush
    (PostgreSQL inserts each batch with one statement a table), not with three flushes a
    household; each household is searchable and named by its own audit row, and `jifen check`
    passes."""
    monkeypatch.setattr(imports, "HOUSEHOLDS_PER_FLUSH", 40)
    rows = [HOUSEHOLD_HEADERS]
    for i in range(100):
        rows.append([f"T-{i:03d}", f"欧阳{i}", "东村", "一组", f"欧阳{i}", "户主", "1960-01-02"])
        rows.append([f"T-{i:03d}", "", "", "", f"李{i}", "配偶", ""])
    batch, checked = imports.preview_import(
        supermarket.id, "households", "镇.csv", csv_bytes(rows, "utf-8"), actor=admin
    )
    assert checked.ok
    flushes: list[int] = []
    inserts: list[str] = []

    def flushed(session, context) -> None:
        flushes.append(1)

    def record(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO HOUSEHOLDS"):
            inserts.append(statement)

    sa.event.listen(Session, "after_flush", flushed)
    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        result = imports.commit_import(batch.id, actor=admin)
    finally:
        sa.event.remove(Session, "after_flush", flushed)
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert result.written == {"households": 100, "members": 200}
    assert len(flushes) <= 3 + 3  # 40 + 40 + 20, then the batch's own and the commit's
    if db.engine.dialect.name == "postgresql":
        assert len(inserts) == 3
    home = db.session.scalar(sa.select(Household).where(Household.number == "T-042"))
    assert [m.name for m in home.members] == ["欧阳42", "李42"]
    assert home.search_key == build_search_key("T-042", ["欧阳42", "欧阳42", "李42"])
    assert home.account.balance == 0
    created = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "household.create")
    ).all()
    assert len(created) == 100 and {e.subject_id for e in created} == set(
        db.session.scalars(sa.select(Household.id))
    )
    assert run_checks() == []


def test_a_mixed_workbook_writes_nothing_and_names_every_bad_row(supermarket, admin, clock):
    factories.household(supermarket, number="A-07", members=["赵六"])
    data = xlsx(
        [
            HOUSEHOLD_HEADERS,
            ["B-01", "张三丰", "东村", "一组", "张三丰", "户主", "1958-03-21"],  # row 2 fine
            ["A-07", "赵六", "东村", "一组", "赵六", "户主", ""],  # row 3: exists
            ["B-02", "", "东村", "", "王芳", "", ""],  # row 4: first row without head
            ["B-01", "", "", "", "张三丰", "", "1958-02-30"],  # row 5: duplicate + bad date
            ["B-03", "刘一", "东村", "", "", "户主", ""],  # row 6: no member name
            ["B-04", "陈二", "", "", "陈二", "", "2030-01-01"],  # row 7: born in the future
        ]
    )
    batch, checked = imports.preview_import(
        supermarket.id, "households", "mixed.xlsx", data, actor=admin
    )
    assert not checked.ok
    messages = checked.messages()
    assert "第3行：户号 A-07 已存在（导入只能新增户）" in messages
    assert "第4行：户号 B-02 的第一行必须填写户主" in messages
    assert "第5行：出生日期“1958-02-30”无法识别，应写成 1958-03-21" in messages
    assert "第5行：成员 张三丰 在户号 B-01 中重复（第2行）" in messages
    assert "第6行：成员姓名不能为空" in messages
    assert "第7行：出生日期不能晚于今天" in messages
    assert {r.number for r in checked.rows if r.errors} == {3, 4, 5, 6, 7}
    assert batch.preview["rows"][0] == {
        "n": 2,
        "values": ["B-01", "张三丰", "东村", "一组", "张三丰", "户主", "1958-03-21"],
        "errors": [],
    }
    with pytest.raises(ImportInvalid, match="没有写入任何数据") as info:
        imports.commit_import(batch.id, actor=admin)
    assert "第3行：户号 A-07 已存在（导入只能新增户）" in info.value.details["errors"]
    assert _count(Household) == 1 and _count(Member) == 1
    assert db.session.get(ImportBatch, batch.id).status == "previewed"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030", "gbk"])
def test_csv_in_every_encoding_excel_saves(supermarket, admin, clock, encoding):
    # Loose headers: full-width letters, spaces, a star and a bracketed hint.
    rows = [
        ["＊户 号", "户主姓名", "村（选填）", "组", " 成员 ", "与户主关系", "出生日期"],
        ["Ｃ-01", "欧阳娜娜", "西村", "三组", "欧阳娜娜", "户主", "19650407"],
        ["Ｃ-01", "", "", "", "欧阳明", "子", "1990.1.5"],
    ]
    data = csv_bytes(rows, encoding)
    batch, checked = imports.preview_import(
        supermarket.id, "households", "户.csv", data, actor=admin
    )
    assert checked.messages() == [] and checked.ok
    imports.commit_import(batch.id, actor=admin)
    home = db.session.scalar(sa.select(Household))
    # Full-width "Ｃ" is folded: the counter's keypad types "C-01".
    assert home.number == "C-01" and home.head_name == "欧阳娜娜" and home.village == "西村"
    assert [m.birth_date for m in home.members] == [date(1965, 4, 7), date(1990, 1, 5)]


def test_a_batch_commits_once_and_the_same_file_is_refused_again(supermarket, admin, clock):
    data = xlsx([HOUSEHOLD_HEADERS, ["D-01", "孙七", "", "", "孙七", "户主", ""]])
    batch, _ = imports.preview_import(supermarket.id, "households", "d.xlsx", data, actor=admin)
    imports.commit_import(batch.id, actor=admin)
    with pytest.raises(ImportAlreadyCommitted):
        imports.commit_import(batch.id, actor=admin)
    again, checked = imports.preview_import(
        supermarket.id, "households", "d.xlsx", data, actor=admin
    )
    assert any("不能重复导入" in p for p in checked.problems)
    with pytest.raises(ImportInvalid):
        imports.commit_import(again.id, actor=admin)
    assert _count(Household) == 1


def test_commit_checks_again_from_the_stored_file(supermarket, admin, clock):
    data = xlsx([HOUSEHOLD_HEADERS, ["E-01", "周八", "", "", "周八", "户主", ""]])
    batch, checked = imports.preview_import(
        supermarket.id, "households", "e.xlsx", data, actor=admin
    )
    assert checked.ok
    factories.household(supermarket, number="E-01", members=["别人"])  # someone was faster
    with pytest.raises(ImportInvalid, match="户号 E-01 已存在"):
        imports.commit_import(batch.id, actor=admin)
    assert _count(Household) == 1


def test_points_rows_become_pending_proposals_a_second_admin_approves(
    supermarket, admin, admin2, clock
):
    standards.seed_standard_items(supermarket.id, actor=None)
    home = factories.household(supermarket, number="A-01", members=["张三丰", "李秀英"])
    data = xlsx(
        [
            ["户号", "成员", "日期", "标准编号", "事由", "分值", "证明材料"],
            ["A-01", "李秀英", datetime(2024, 3, 5), 3, None, None, "扫雪照片"],
            ["A-01", None, "2024-03-08", None, "乱堆柴草占道", "-2", "网格员记录"],
            ["A-01", None, "2024-04-01", "22", "抢险", 6, ""],  # the value may differ from the item
        ]
    )
    batch, checked = imports.preview_import(supermarket.id, "points", "p.xlsx", data, actor=admin)
    assert checked.ok, checked.messages()
    assert checked.totals == {"proposals": 3, "awards": 10, "deductions": -2}
    imports.commit_import(batch.id, actor=admin)
    pending = intake.list_pending(supermarket.id)
    assert [(p.amount, p.member.name if p.member else None) for p in pending] == [
        (4, "李秀英"),
        (-2, None),
        (6, None),
    ]
    assert all(p.batch_id == batch.id and p.entered_by_id == admin.id for p in pending)
    db.session.expire_all()
    assert db.session.get(PointAccount, home.account.id).balance == 0  # nothing counts yet
    with pytest.raises(SelfApprovalRefused):
        intake.approve_batch(batch.id, actor=admin)
    assert intake.approve_batch(batch.id, actor=admin2) == 3
    db.session.expire_all()
    assert db.session.get(PointAccount, home.account.id).balance == 8
    statuses = db.session.scalars(sa.select(PointProposal.status)).all()
    assert statuses == [PROPOSAL_APPROVED] * 3


def test_bad_points_rows_are_named(supermarket, admin, clock):
    standards.seed_standard_items(supermarket.id, actor=None)
    factories.household(supermarket, number="A-01", members=["张三丰"])
    data = csv_bytes(
        [
            ["户号", "成员", "日期", "标准编号", "事由", "分值", "证明材料"],
            ["A-07", "", "2024-03-05", "3", "", "", ""],
            ["A-01", "王五", "2024-03-05", "3", "", "", ""],
            ["A-01", "", "2024-13-05", "99", "", "", ""],
            ["A-01", "", "2024-03-05", "", "", "", ""],
            ["A-01", "", "2024-06-01", "", "帮工", "两分", ""],
        ],
        "utf-8-sig",
    )
    _, checked = imports.preview_import(supermarket.id, "points", "p.csv", data, actor=admin)
    assert checked.messages() == [
        "第2行：户号 A-07 不存在",
        "第3行：户号 A-01 没有名为 王五 的成员",
        "第4行：日期“2024-13-05”无法识别，应写成 2024-03-05",
        "第4行：标准编号 99 不存在",
        "第5行：标准编号和事由至少填写一项",
        "第5行：没有标准编号时必须填写分值",
        "第6行：日期不能晚于今天",
        "第6行：分值“两分”不是整数",
    ]
    assert _count(PointProposal) == 0


def test_scores_per_member_with_the_standards_met(supermarket, admin, clock):
    factories.policy(supermarket, "zhaili")
    standards.seed_standard_items(supermarket.id, actor=None)
    home = factories.household(supermarket, number="Z-01", members=["张三丰", "李秀英"])
    data = xlsx(
        [
            ["户号", "成员", "期间", "分数", "标准编号", "备注"],
            ["Z-01", "张三丰", "2024q1", 86, None, None],
            ["Z-01", "李秀英", "2024Q1", None, "1、3、22", "季度评议"],
            ["Z-01", "李秀英", "2024Q1", 90, None, None],  # the same member twice
            ["Z-01", None, "2024Q2", 80, None, None],  # 寨里 scores people, not households
            ["Z-01", "张三丰", "2024Q3", 80, None, None],  # a future quarter
        ]
    )
    _, checked = imports.preview_import(supermarket.id, "scores", "s.xlsx", data, actor=admin)
    assert checked.messages() == [
        "第4行：李秀英 的 2024Q1 评分与第3行重复",
        "第5行：本超市按个人评分：请填写户号 Z-01 的成员姓名",
        "第6行：不能登记未来期间（2024Q3）的评分",
    ]
    good = xlsx(
        [
            ["户号", "成员", "期间", "分数", "标准编号", "备注"],
            *[
                r
                for r in [
                    ["Z-01", "张三丰", "2024q1", 86, None, None],
                    ["Z-01", "李秀英", "2024Q1", None, "1、3、22", "季度评议"],
                ]
            ],
        ]
    )
    batch, checked = imports.preview_import(supermarket.id, "scores", "s2.xlsx", good, actor=admin)
    assert checked.ok and checked.totals == {"scores": 2, "periods": {"2024Q1": 2}}
    imports.commit_import(batch.id, actor=admin)
    rows = db.session.scalars(sa.select(Assessment).order_by(Assessment.id)).all()
    assert [(r.member_id, r.period, r.score, r.note) for r in rows] == [
        (home.members[0].id, "2024Q1", 86, ""),
        (home.members[1].id, "2024Q1", 13, "季度评议；依据标准：1、3、22"),
    ]


def test_scores_convert_into_points_under_datong(supermarket, admin, clock):
    factories.policy(supermarket, "datong")
    home = factories.household(supermarket, number="A-01")
    data = xlsx(
        [
            ["户号", "期间", "分数"],
            ["A-01", "2024Q1", 86],
            ["A-01", "2023Q4", 90],
            ["A-01", "2023Q3", 85],
        ]
    )
    batch, checked = imports.preview_import(supermarket.id, "scores", "s.xlsx", data, actor=admin)
    assert checked.ok, checked.messages()
    imports.commit_import(batch.id, actor=admin)
    db.session.expire_all()
    # Q3+Q4 2023 average 87.5 × 0.1 = 8.75 → 8 points (the rest carries).
    assert db.session.get(PointAccount, home.account.id).balance == 8


def test_file_level_problems(supermarket, admin, clock):
    _, checked = imports.preview_import(
        supermarket.id, "households", "x.xlsx", xlsx([["姓名", "电话"], ["张三", "1"]]), actor=admin
    )
    assert checked.problems[0].startswith("没有找到表头") and not checked.ok
    _, checked = imports.preview_import(
        supermarket.id, "households", "old.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100, actor=admin
    )
    assert "旧版 Excel" in checked.problems[0]
    _, checked = imports.preview_import(
        supermarket.id, "households", "bad.xlsx", b"PK\x03\x04broken", actor=admin
    )
    assert "不是有效的 Excel" in checked.problems[0]


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(40)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        # A photo of the paper list, or an empty CSV, gets its own words (issue 17).
        ("名单.png", PNG, "这是一个PNG 图片，不是表格"),
        ("名单.csv", PNG, "这是一个PNG 图片，不是表格"),
        ("名单.pdf", b"%PDF-1.7\n" + bytes(40), "这是一个PDF 文件，不是表格"),
        ("空.csv", b"\xef\xbb\xbf\r\n,,\r\n", "文件是空的"),
        ("空.csv", b"   \n", "文件是空的"),
    ],
)
def test_a_picture_or_an_empty_file_is_named_as_such(
    supermarket, admin, clock, name, data, message
):
    _, checked = imports.preview_import(supermarket.id, "households", name, data, actor=admin)
    assert checked.problems == [checked.problems[0]] and message in checked.problems[0]
    assert not checked.ok


def test_a_zero_byte_file_is_empty_not_missing(supermarket, admin):
    with pytest.raises(ValidationFailed, match="文件“空.csv”是空的"):
        imports.preview_import(supermarket.id, "households", "空.csv", b"", actor=admin)
    with pytest.raises(ValidationFailed, match="请选择要导入的文件"):
        imports.preview_import(supermarket.id, "households", "", b"", actor=admin)


@pytest.mark.parametrize("kind", ["households", "points", "scores"])
def test_templates_carry_the_headers_the_import_reads(supermarket, kind):
    data = imports.template_bytes(kind)
    rows = read_rows(data)
    assert rows[1] == [c.label for c in imports.COLUMNS[kind]]
    table = imports.read_table(kind, data, "t.xlsx")
    assert table.problems == ["表格里没有数据行"]
    example = read_rows(data, 1)
    assert len(example) > 3


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-05", date(2024, 3, 5)),
        ("2024/3/5", date(2024, 3, 5)),
        ("2024.3.5", date(2024, 3, 5)),
        ("2024年3月5日", date(2024, 3, 5)),
        ("20240305", date(2024, 3, 5)),
        ("２０２４－０３－０５", date(2024, 3, 5)),
        (45356, date(2024, 3, 5)),
        (datetime(2024, 3, 5, 0, 0), date(2024, 3, 5)),
        ("2024-03-05 00:00:00", date(2024, 3, 5)),
    ],
)
def test_dates_as_excel_and_people_write_them(raw, expected):
    assert imports.parse_date(raw) == expected


def _write(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_cli_checks_with_a_progress_bar_and_exits_1_on_any_error(
    runner, supermarket, admin, clock, tmp_path
):
    bad = _write(
        tmp_path,
        "bad.xlsx",
        xlsx(
            [
                HOUSEHOLD_HEADERS,
                ["F-01", "甲", "", "", "甲", "", ""],
                ["F-02", "", "", "", "乙", "", ""],
            ]
        ),
    )
    result = runner.invoke(args=["import", "households", bad, "--commit"])
    assert result.exit_code == 1
    assert "第3行：户号 F-02 的第一行必须填写户主" in result.output
    assert "没有写入任何数据" in result.output
    assert _count(Household) == 0

    good = _write(
        tmp_path,
        "good.csv",
        csv_bytes([HOUSEHOLD_HEADERS, ["F-01", "甲", "", "", "甲", "", ""]], "gb18030"),
    )
    result = runner.invoke(args=["import", "households", good])
    assert result.exit_code == 0, result.output
    assert "检查户与成员" in result.output and "加 --commit 写入" in result.output
    assert _count(Household) == 0
    result = runner.invoke(args=["import", "households", good, "--commit", "--user", "admin1"])
    assert result.exit_code == 0, result.output
    assert "写入户与成员" in result.output and "1 户，1 位成员" in result.output
    assert _count(Household) == 1
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "import.commit"))
    assert event.actor_id == admin.id
    # The same file again: refused, nothing written.
    result = runner.invoke(args=["import", "households", good, "--commit"])
    assert result.exit_code == 1 and "不能重复导入" in result.output
    result = runner.invoke(args=["import", "households", good, "--user", "nobody"])
    assert result.exit_code == 1 and "没有名为 nobody 的管理员" in result.output
