"""The notice pages: who may open what, the draft → preview → publish flow, objections through
the forms, and privacy — no rendered notice (office page, A4 page, large screen, XLSX, objection
pages) ever shows an 18-digit ID number or an 11-digit mobile number, and names are masked."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from kiosk import clock, export, intake, notice, objections, rules
from kiosk.database import write_transaction
from kiosk.extensions import db
from kiosk.models import Household, Member, Notice, Objection, PointEntry
from tests import factories

ID_RE = re.compile(r"\d{18}|\d{17}[Xx]")
PHONE_RE = re.compile(r"1[3-9]\d{9}")


def login(client, username: str) -> None:
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code == 302


def this_quarter() -> str:
    return rules.period_key(clock.local_now().date(), rules.PERIOD_QUARTER)


def published(supermarket, admin) -> Notice:
    d = notice.draft_notice(supermarket.id, this_quarter(), actor=admin)
    return notice.publish_notice(d.id, actor=admin)


# ---------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------


@pytest.fixture
def pages(supermarket, admin):
    hh = factories.household(supermarket, number="P01", head_name="张三丰", points=10)
    n = published(supermarket, admin)
    o = objections.record_objection(
        n.id,
        hh.id,
        raised_by="张三丰",
        raised_on=clock.local_now().date(),
        disputed="少记",
        actor=admin,
    )
    return {
        "read": [
            "/notice/",
            f"/notice/{n.id}",
            f"/notice/{n.id}/print",
            f"/notice/{n.id}/xlsx",
            "/notice/objections",
            f"/notice/objections/{o.id}",
        ],
        "write_get": [f"/notice/{n.id}/objections/new?household={hh.id}"],
        "write_post": [
            ("/notice/draft", {"period": this_quarter()}),
            (f"/notice/{n.id}/publish", {}),
            (f"/notice/{n.id}/discard", {}),
            (f"/notice/{n.id}/objections", {"household_id": hh.id}),
            (f"/notice/objections/{o.id}/resolve", {"outcome": "rejected", "resolution": "x"}),
        ],
    }


def test_visitors_are_sent_to_login_except_for_the_screen(client, pages):
    for url in pages["read"] + pages["write_get"]:
        r = client.get(url)
        assert r.status_code == 302 and "/login" in r.headers["Location"], url
    for url, data in pages["write_post"]:
        r = client.post(url, data=data)
        assert r.status_code == 302 and "/login" in r.headers["Location"], url
    assert client.get("/notice/screen").status_code == 200


def test_keepers_have_no_notice_pages(client, keeper, pages):
    login(client, "keeper1")
    for url in pages["read"] + pages["write_get"]:
        assert client.get(url).status_code == 403, url
    for url, data in pages["write_post"]:
        assert client.post(url, data=data).status_code == 403, url
    assert client.get("/notice/screen").status_code == 200


def test_supervisors_read_everything_and_change_nothing(client, supervisor, pages):
    login(client, "super1")
    for url in pages["read"]:
        assert client.get(url).status_code == 200, url
    for url in pages["write_get"]:
        assert client.get(url).status_code == 403, url
    for url, data in pages["write_post"]:
        assert client.post(url, data=data).status_code == 403, url
    body = client.get("/notice/").get_data(as_text=True)
    assert 'id="draft-form"' not in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 1
    assert objections.counts(pages_supermarket_id(pages))["open"] == 1


def pages_supermarket_id(_pages) -> int:
    return db.session.scalar(sa.select(Notice.supermarket_id))


def test_the_office_tab_is_there_for_admins(client, admin, supermarket):
    login(client, "admin1")
    body = client.get("/notice/").get_data(as_text=True)
    assert 'href="/notice/"' in body and "公示" in body


def test_another_supermarkets_notice_is_not_found(client, admin, supermarket):
    other = factories.supermarket(code="GY01", name="高阳镇积分超市")
    factories.household(other, number="X01", points=5)
    n = notice.publish_notice(
        notice.draft_notice(other.id, this_quarter(), actor=None).id, actor=None
    )
    login(client, "admin1")
    assert client.get(f"/notice/{n.id}").status_code == 404
    assert client.get(f"/notice/{n.id}/print").status_code == 404
    # The screen shows this kiosk's supermarket only.
    assert "X01" not in client.get("/notice/screen").get_data(as_text=True)


# ---------------------------------------------------------------------------
# The flow through the forms
# ---------------------------------------------------------------------------


def test_draft_preview_publish_revise_through_the_pages(client, admin, supermarket):
    hh = factories.household(supermarket, number="W01", head_name="张三丰", points=10)
    login(client, "admin1")
    r = client.post("/notice/draft", data={"period": this_quarter()})
    assert r.status_code == 302
    draft_url = r.headers["Location"]
    page = client.get(draft_url).get_data(as_text=True)
    assert "草稿，尚未发布" in page and "张*丰" in page and 'id="publish-form"' in page
    nid = int(draft_url.rstrip("/").rsplit("/", 1)[1])
    # A draft is not printed or exported, and the screen does not show it.
    assert client.get(f"/notice/{nid}/print").status_code == 400
    assert client.get(f"/notice/{nid}/xlsx").status_code == 400
    assert "暂无公示" in client.get("/notice/screen").get_data(as_text=True)
    factories.points_award(hh, 3)
    assert 'id="stale"' in client.get(draft_url).get_data(as_text=True)
    r = client.post(f"/notice/{nid}/publish", data={"note": ""})
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "公示中 · 第1版" in page
    screen = client.get("/notice/screen").get_data(as_text=True)
    assert "W01" in screen and "张*丰" in screen
    # What was previewed is what was published: the 3 points after the draft are not on it.
    assert notice.published(supermarket.id, this_quarter()).content["rows"][0]["total_points"] == 10
    # A revision without a note is refused on the page, the draft kept.
    r = client.post("/notice/draft", data={"period": this_quarter()})
    second = int(r.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    r = client.post(f"/notice/{second}/publish", data={"note": ""}, follow_redirects=True)
    assert "修订说明" in r.get_data(as_text=True)
    assert db.session.get(Notice, second).status == "draft"
    r = client.post(f"/notice/{second}/publish", data={"note": "补记积分"}, follow_redirects=True)
    assert "公示中 · 第2版" in r.get_data(as_text=True)
    old = client.get(f"/notice/{nid}/print").get_data(as_text=True)
    assert 'id="superseded"' in old


def test_bad_period_is_refused_in_chinese(client, admin, supermarket):
    login(client, "admin1")
    r = client.post("/notice/draft", data={"period": "2099Q1"}, follow_redirects=True)
    assert "还没有开始" in r.get_data(as_text=True)
    r = client.post("/notice/draft", data={"period": "abc"}, follow_redirects=True)
    assert "格式不正确" in r.get_data(as_text=True)


def test_objection_recorded_and_upheld_through_the_forms(client, admin, supermarket):
    hh = factories.household(
        supermarket, number="Q01", head_name="张三丰", points=10, members=["张三丰", "李梅"]
    )
    n = published(supermarket, admin)
    login(client, "admin1")
    form = client.get(f"/notice/{n.id}/objections/new?household={hh.id}").get_data(as_text=True)
    assert "李梅" in form
    member = db.session.scalar(sa.select(Member).where(Member.name == "李梅"))
    today = clock.local_now().date().isoformat()
    # Missing text: refused on the page, what was typed kept.
    r = client.post(
        f"/notice/{n.id}/objections",
        data={"household_id": hh.id, "member_id": member.id, "raised_on": today, "disputed": ""},
    )
    assert r.status_code == 400 and "请填写异议内容" in r.get_data(as_text=True)
    r = client.post(
        f"/notice/{n.id}/objections",
        data={
            "household_id": hh.id,
            "member_id": member.id,
            "raised_on": "昨天",
            "disputed": "少记",
        },
    )
    assert r.status_code == 400 and "日期格式不正确" in r.get_data(as_text=True)
    assert "少记" in r.get_data(as_text=True)
    r = client.post(
        f"/notice/{n.id}/objections",
        data={
            "household_id": hh.id,
            "member_id": member.id,
            "raised_on": today,
            "disputed": "三月志愿8分未计",
        },
    )
    assert r.status_code == 302
    o = db.session.scalar(sa.select(Objection))
    assert o.raised_by == "李梅"
    page = client.get(f"/notice/{n.id}").get_data(as_text=True)
    assert "待处理1件" in page and "李*" in page and "三月志愿8分未计" in page
    r = client.post(
        f"/notice/objections/{o.id}/resolve",
        data={"outcome": "upheld", "resolution": "属实", "correction": "八"},
    )
    assert r.status_code == 400 and "更正积分必须是整数" in r.get_data(as_text=True)
    r = client.post(
        f"/notice/objections/{o.id}/resolve",
        data={"outcome": "upheld", "resolution": "属实", "correction": "8"},
    )
    assert r.status_code == 302
    db.session.expire_all()
    o = db.session.get(Objection, o.id)
    assert o.status == "upheld"
    # The correction waits for a second admin (two signatures for every award).
    assert o.correction_entry_id is None
    shown = client.get(f"/notice/objections/{o.id}").get_data(as_text=True)
    assert 'id="correction-proposal" data-status="pending"' in shown
    signer = factories.user("signer", "admin", supermarket, display_name="周委员")
    intake.approve(objections.correction_proposal(o).id, actor=signer)
    db.session.expire_all()
    o = db.session.get(Objection, o.id)
    assert db.session.get(PointEntry, o.correction_entry_id).amount == 8
    log = client.get("/notice/objections?status=upheld").get_data(as_text=True)
    assert "（积分+8）" in log


# ---------------------------------------------------------------------------
# Privacy
# ---------------------------------------------------------------------------

ID = "110101199003071234"
ID_X = "11010119900307123X"
PHONE = "13812345678"


def _leaky_village(supermarket, admin, policy="datong"):
    """Households whose names, members and numbers carry ID and phone numbers (as if typed
    carelessly or imported), a published notice, and objections quoting them."""
    factories.policy(supermarket, policy)
    homes = []
    for i in range(14):
        hh = factories.household(
            supermarket,
            number=f"L{i:02d}",
            head_name="张三丰",
            points=5 + i,
            members=["张三丰", "王芳"],
        )
        homes.append(hh)
    with write_transaction():
        a = db.session.get(Household, homes[0].id)
        a.head_name = f"张三{ID}"
        a.group_name = f"电话{PHONE}"
        b = db.session.get(Household, homes[1].id)
        b.number = PHONE
        b.head_name = f"李四{PHONE}"
        c = db.session.get(Household, homes[2].id)
        c.number = ID_X
        for m in db.session.scalars(sa.select(Member).where(Member.household_id == homes[3].id)):
            m.name = f"王芳{ID_X}"
        for m in db.session.scalars(sa.select(Member).where(Member.household_id == homes[4].id)):
            m.name = f"赵{PHONE}"
    if policy == "zhaili":
        from kiosk import assessments

        for hh in homes:
            for m in db.session.scalars(sa.select(Member).where(Member.household_id == hh.id)):
                assessments.record_assessment(
                    hh.id, this_quarter(), 85, member_id=m.id, actor=admin
                )
    n = published(supermarket, admin)
    today = clock.local_now().date()
    head = db.session.get(Household, homes[0].id).head_name
    o = objections.record_objection(
        n.id,
        homes[0].id,
        raised_by=head,
        raised_on=today,
        disputed=f"身份证{ID}，电话{PHONE}",
        actor=admin,
    )
    objections.resolve_objection(o.id, upheld=False, resolution=f"已电话{PHONE}告知", actor=admin)
    member = db.session.scalar(sa.select(Member).where(Member.household_id == homes[4].id))
    objections.record_objection(
        n.id, homes[4].id, raised_by=member.name, raised_on=today, disputed="排名", actor=admin
    )
    return n, homes


def _assert_clean(text: str, where: str) -> None:
    assert not ID_RE.search(text), f"ID number in {where}: {ID_RE.search(text).group(0)}"
    assert not PHONE_RE.search(text), f"phone number in {where}: {PHONE_RE.search(text).group(0)}"


@pytest.mark.parametrize("policy", ["datong", "zhaili"])
def test_no_notice_output_shows_an_id_or_phone_number(
    client, admin, supervisor, supermarket, policy
):
    n, homes = _leaky_village(supermarket, admin, policy)
    # The data really is there to leak.
    assert ID in db.session.get(Household, homes[0].id).head_name
    stored = str(n.content)
    _assert_clean(stored, "the frozen content")
    screen = client.get("/notice/screen").get_data(as_text=True)
    _assert_clean(screen, "the large screen")
    for user in ("admin1", "super1"):
        login(client, user)
        o_ids = [o.id for o in objections.list_objections(supermarket.id)]
        urls = [
            "/notice/",
            f"/notice/{n.id}",
            f"/notice/{n.id}/print",
            "/notice/objections",
            *[f"/notice/objections/{i}" for i in o_ids],
        ]
        if user == "admin1":
            urls += [f"/notice/{n.id}/objections/new?household={h.id}" for h in homes[:5]]
        for url in urls:
            r = client.get(url)
            assert r.status_code == 200, url
            _assert_clean(r.get_data(as_text=True), url)
        data = client.get(f"/notice/{n.id}/xlsx").data
        for sheet in range(3):
            text = "\n".join(
                "\t".join("" if v is None else str(v) for v in row)
                for row in export.read_rows(data, sheet)
            )
            _assert_clean(text, f"xlsx sheet {sheet}")
        client.post("/logout")
    # Names are always masked: no row carries a whole name.
    for row in n.content["rows"]:
        assert "*" in row["name"]
        assert "张三丰" not in row["name"]
        for m in row["members"] or []:
            assert "*" in m["name"]
    print_page = client.get("/notice/screen").get_data(as_text=True)
    assert "张三丰" not in print_page and "王芳" not in print_page


def test_the_screen_shows_only_the_newest_published_notice(client, admin, supermarket):
    hh = factories.household(supermarket, number="S01", head_name="张三丰", points=10)
    prev = rules.previous_period(this_quarter())
    old = notice.publish_notice(
        notice.draft_notice(supermarket.id, prev, actor=admin).id, actor=admin
    )
    body = client.get("/notice/screen").get_data(as_text=True)
    assert rules.period_label(prev) in body
    new = published(supermarket, admin)
    factories.points_award(hh, 5)
    notice.draft_notice(supermarket.id, this_quarter(), actor=admin)  # a draft: never on screen
    body = client.get("/notice/screen").get_data(as_text=True)
    assert rules.period_label(this_quarter()) in body and rules.period_label(prev) not in body
    assert f"第{new.revision}版" in body
    # Nothing about objections, drafts or other revisions, and no id to ask for another one.
    assert "异议" not in body and "草稿" not in body
    assert client.get(f"/notice/screen?id={old.id}").get_data(as_text=True) == body
    assert 'data-seconds="15"' in body
    assert 'data-seconds="120"' in client.get("/notice/screen?seconds=999").get_data(as_text=True)
    assert 'data-seconds="5"' in client.get("/notice/screen?seconds=1").get_data(as_text=True)
    assert 'data-seconds="15"' in client.get("/notice/screen?seconds=x1").get_data(as_text=True)


def test_the_screen_pages_the_full_list(client, admin, supermarket):
    for i in range(23):
        factories.household(supermarket, number=f"T{i:02d}", points=i + 1)
    published(supermarket, admin)
    body = client.get("/notice/screen?seconds=8").get_data(as_text=True)
    assert body.count('class="nt-screen-page"') == 3
    assert 'data-pages="3"' in body and 'data-seconds="8"' in body
    assert body.count("nt-red-item") == 10


def test_xlsx_holds_the_notice(client, admin, supermarket):
    for i in range(3):
        factories.household(supermarket, number=f"X{i}", head_name="张三丰", points=10 * (i + 1))
    n = published(supermarket, admin)
    login(client, "admin1")
    r = client.get(f"/notice/{n.id}/xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    rows = export.read_rows(r.data, 0)
    assert rows[0][0].endswith("积分公示")
    header = rows.index(["名次", "户号", "户主", "本季积分", "累计积分"])
    assert rows[header + 1] == [1, "X2", "张*丰", 30, 30]
    red = export.read_rows(r.data, 1)
    assert len([row for row in red if row and isinstance(row[0], int)]) == 3


def test_pages_render_in_english_too(client, admin, supermarket):
    hh = factories.household(supermarket, number="EN1", head_name="张三丰", points=10)
    n = published(supermarket, admin)
    o = objections.record_objection(
        n.id,
        hh.id,
        raised_by="张三丰",
        raised_on=clock.local_now().date(),
        disputed="少记",
        actor=admin,
    )
    assert client.get("/notice/screen?lang=en").status_code == 200
    login(client, "admin1")
    for url in (
        "/notice/",
        f"/notice/{n.id}",
        f"/notice/{n.id}/print",
        f"/notice/{n.id}/xlsx",
        "/notice/objections",
        f"/notice/objections/{o.id}",
        f"/notice/{n.id}/objections/new?household={hh.id}",
    ):
        assert client.get(url + ("&" if "?" in url else "?") + "lang=en").status_code == 200, url
