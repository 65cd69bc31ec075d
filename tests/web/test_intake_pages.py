"""The intake and import pages: who may open and use them, and the wiring to the services."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from kiosk import standards
from kiosk.export import read_rows
from kiosk.extensions import db
from kiosk.models import Household, ImportBatch, PointEntry, PointProposal
from tests import factories


def login(client, username: str) -> None:
    resp = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert resp.status_code == 302


def xlsx(rows) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.fixture
def admin2(supermarket):
    return factories.user("admin2", "admin", supermarket, display_name="周委员")


@pytest.fixture
def village(supermarket, admin, admin2, supervisor, keeper, monkeypatch):
    factories.pin_clock(monkeypatch, datetime(2024, 5, 20, 10, 0))
    standards.seed_standard_items(supermarket.id, actor=None)
    home = factories.household(supermarket, number="A-01", members=["张三丰", "李秀英"])
    return {"home": home}


PAGES = ["/intake", "/intake/standards", "/intake/import"]


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize(
    ("username", "status"), [("admin1", 200), ("super1", 200), ("keeper1", 403)]
)
def test_pages_by_role(client, village, url, username, status):
    login(client, username)
    resp = client.get(url)
    assert resp.status_code == status
    if status == 200:
        html = resp.get_data(as_text=True)
        has_forms = 'name="csrf_token"' in html.replace('action="/logout"', "") and (
            "propose-form" in html or "import-form" in html or "item-form-" in html
        )
        assert has_forms == (username == "admin1")


def test_anonymous_visitors_go_to_login(client, village):
    resp = client.get("/intake")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize(
    "url",
    ["/intake/proposals", "/intake/standards", "/intake/import", "/intake/proposals/1/approve"],
)
def test_supervisors_and_keepers_cannot_write(client, village, url):
    for user in ("super1", "keeper1"):
        login(client, user)
        assert client.post(url, data={}).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(PointProposal.id))) == 0


def test_enter_then_another_admin_signs_off(client, village):
    home = village["home"]
    login(client, "admin1")
    item = standards.items_by_code(home.supermarket_id)["3"]
    resp = client.post(
        "/intake/proposals",
        data={
            "number": "A-01",
            "member": "李秀英",
            "item": str(item.id),
            "amount": "",
            "occurred_on": "2024-05-18",
            "reason": "",
            "evidence": "扫雪照片",
        },
    )
    assert resp.status_code == 302
    page = client.get("/intake").get_data(as_text=True)
    assert "已录入：A-01 +4分，等待另一位管理员确认" in page
    assert "您录入的，须由他人确认" in page
    proposal = db.session.scalar(sa.select(PointProposal))
    resp = client.post(f"/intake/proposals/{proposal.id}/approve", follow_redirects=True)
    assert "不能确认自己录入的加减分" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(PointEntry.id))) == 0

    login(client, "admin2")
    resp = client.post(f"/intake/proposals/{proposal.id}/approve", follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "已确认：A-01 +4分，已计入积分" in html
    assert "没有待确认的加减分" in html
    resp = client.post(f"/intake/proposals/{proposal.id}/approve", follow_redirects=True)
    assert "已经处理过了" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(PointEntry.id))) == 1
    export = client.get("/intake/export/proposals.xlsx")
    rows = read_rows(export.data)
    assert any(r[2] == "A-01" and r[7] == 4 and r[9] == "已确认" for r in rows)


def test_a_refused_entry_keeps_what_was_typed(client, village):
    login(client, "admin1")
    resp = client.post(
        "/intake/proposals",
        data={"number": "A-09", "amount": "-2", "occurred_on": "2024-05-18", "reason": "占道"},
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "户号 A-09 不存在" in html and 'value="占道"' in html


def test_reject_needs_a_reason(client, village, admin):
    from kiosk import intake

    p = intake.propose(
        village["home"].supermarket_id,
        intake.ProposalInput(village["home"].id, datetime(2024, 5, 1).date(), amount=2, reason="x"),
        actor=admin,
    )
    login(client, "admin2")
    resp = client.post(f"/intake/proposals/{p.id}/reject", data={"note": ""}, follow_redirects=True)
    assert "请填写退回原因" in resp.get_data(as_text=True)
    resp = client.post(
        f"/intake/proposals/{p.id}/reject", data={"note": "重复录入"}, follow_redirects=True
    )
    assert "已退回 A-01 的加减分" in resp.get_data(as_text=True)


def test_standards_are_edited_on_the_page(client, village):
    login(client, "admin1")
    item = standards.items_by_code(village["home"].supermarket_id)["13"]
    resp = client.post(
        f"/intake/standards/{item.id}",
        data={"title": "积极参加村居组织的各类文体活动。", "points": "3", "category": "文体"},
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert (item.points, item.active, item.category) == (3, False, "文体")
    resp = client.post(
        "/intake/standards", data={"code": "K1", "title": "乱倒垃圾", "points": "-2"}
    )
    assert resp.status_code == 302
    resp = client.post("/intake/standards", data={"code": "K1", "title": "再来", "points": "-2"})
    assert resp.status_code == 422 and "标准编号 K1 已存在" in resp.get_data(as_text=True)
    rows = read_rows(client.get("/intake/export/standards.xlsx").data)
    assert rows[2][:3] == ["编号", "标准", "分值"]
    assert rows[3][::2] == ["1", 4, "使用中"] and rows[-1][:3] == ["K1", "乱倒垃圾", -2]


def test_upload_preview_and_commit(client, village):
    login(client, "admin1")
    bad = xlsx(
        [
            ["户号", "户主", "村", "组", "成员", "关系", "出生日期"],
            ["B-01", "王五", "东村", "", "王五", "户主", ""],
            ["A-01", "张三丰", "东村", "", "张三丰", "户主", ""],
        ]
    )
    resp = client.post(
        "/intake/import",
        data={"kind": "households", "file": (io.BytesIO(bad), "名单.xlsx")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "第3行：户号 A-01 已存在（导入只能新增户）" in page
    assert 'id="commit"' not in page and "没有写入任何数据" in page
    batch = db.session.scalar(sa.select(ImportBatch))
    # A forged commit is refused from the stored file.
    resp = client.post(f"/intake/import/{batch.id}/commit", follow_redirects=True)
    assert "没有写入任何数据" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 1
    check = read_rows(client.get(f"/intake/import/{batch.id}/errors.xlsx").data)
    assert check[-1][-1] == "户号 A-01 已存在（导入只能新增户）"

    good = xlsx([["户号", "户主", "成员"], ["B-01", "王五", "王五"], ["B-01", "", "赵芳"]])
    resp = client.post(
        "/intake/import",
        data={"kind": "households", "file": (io.BytesIO(good), "好.xlsx")},
        content_type="multipart/form-data",
    )
    url = resp.headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "全部无误，导入 2 行" in page
    resp = client.post(url + "/commit", follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "已导入：1 户，2 位成员" in html and 'id="commit"' not in html
    assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 2
    resp = client.post(url + "/commit", follow_redirects=True)
    assert "不能重复导入" in resp.get_data(as_text=True)


def test_upload_without_a_file_or_kind(client, village):
    login(client, "admin1")
    resp = client.post("/intake/import", data={"kind": "households"})
    assert resp.status_code == 422 and "请选择要导入的文件" in resp.get_data(as_text=True)
    resp = client.post("/intake/import", data={"kind": "cards"})
    assert resp.status_code == 422 and "请选择导入的内容" in resp.get_data(as_text=True)


@pytest.mark.parametrize("kind", ["households", "points", "scores"])
def test_templates_download(client, village, kind):
    login(client, "super1")
    resp = client.get(f"/intake/import/template/{kind}.xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    assert read_rows(resp.data)[1][0] == "户号"
    assert client.get("/intake/import/template/cards.xlsx").status_code == 404


def test_imported_points_are_approved_as_a_batch_by_another_admin(client, village):
    login(client, "admin1")
    data = xlsx(
        [
            ["户号", "日期", "标准编号", "事由", "分值"],
            ["A-01", "2024-05-01", "9", "", ""],
            ["A-01", "2024-05-02", "", "占道", -2],
        ]
    )
    resp = client.post(
        "/intake/import",
        data={"kind": "points", "file": (io.BytesIO(data), "p.xlsx")},
        content_type="multipart/form-data",
    )
    url = resp.headers["Location"]
    client.post(url + "/commit")
    page = client.get("/intake").get_data(as_text=True)
    assert "2 条待确认，合计 +2 分" in page and "整批确认" not in page
    batch = db.session.scalar(sa.select(ImportBatch))
    login(client, "admin2")
    assert "整批确认" in client.get("/intake").get_data(as_text=True)
    resp = client.post(f"/intake/batches/{batch.id}/approve", follow_redirects=True)
    assert "已确认导入批次" in resp.get_data(as_text=True)
    amounts = db.session.scalars(sa.select(PointEntry.amount).order_by(PointEntry.id)).all()
    assert amounts == [4, -2]
