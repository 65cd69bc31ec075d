"""The quarterly notice (季公示) and objections (异议) as services, on both databases: ranking
with shared ranks, the red list, 寨里's family stars from member scores, 羊亭's pyramid bands,
frozen snapshots, revisions that supersede, and objections upheld (with a correction that counts
once a second admin approves it) or rejected — every write audited."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from kiosk import assessments, clock, intake, notice, objections, points, rules, vetoes
from kiosk.database import write_transaction
from kiosk.errors import SelfApprovalRefused, ValidationFailed
from kiosk.extensions import db
from kiosk.messages import chinese
from kiosk.models import (
    NOTICE_DISCARDED,
    NOTICE_PUBLISHED,
    NOTICE_SUPERSEDED,
    AuditEvent,
    Notice,
    Objection,
    PointAccount,
    PointEntry,
    PointProposal,
)
from tests import factories


def this_quarter() -> str:
    return rules.period_key(clock.local_now().date(), rules.PERIOD_QUARTER)


def this_month() -> str:
    return rules.period_key(clock.local_now().date(), rules.PERIOD_MONTH)


def backdate_entries(household_id: int, local: datetime) -> None:
    """Move a household's entries to a local moment (test set-up for an earlier quarter)."""
    with write_transaction():
        account = db.session.scalar(
            sa.select(PointAccount).where(PointAccount.household_id == household_id)
        )
        for e in db.session.scalars(
            sa.select(PointEntry).where(PointEntry.account_id == account.id)
        ):
            e.created_at = clock.local_to_utc(local)


def actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def rows_by_number(n: Notice) -> dict[str, dict]:
    return {r["number"]: r for r in n.content["rows"]}


# ---------------------------------------------------------------------------
# Ranking and the red list
# ---------------------------------------------------------------------------


def test_ranking_shares_ranks_on_ties_and_ranks_by_points_earned(supermarket, admin):
    a = factories.household(supermarket, number="A01", head_name="张三丰", points=50)
    b = factories.household(supermarket, number="A02", head_name="李四", points=80)
    c = factories.household(supermarket, number="A03", head_name="王五", points=50)
    d = factories.household(supermarket, number="A04", head_name="赵六", points=20)
    # Redeeming (spending) never lowers the ranking: only points earned count (003).
    with write_transaction():
        account = points.locked_account(b.id)
        points.post_entry(account, "redemption", -70, actor=None, reason="兑换")
    n = notice.draft_notice(supermarket.id, this_quarter(), actor=admin)
    rows = rows_by_number(n)
    assert [r["number"] for r in n.content["rows"]] == ["A02", "A01", "A03", "A04"]
    assert (rows["A02"]["rank"], rows["A01"]["rank"], rows["A03"]["rank"]) == (1, 2, 2)
    assert rows["A04"]["rank"] == 4
    assert rows["A02"]["total_points"] == 80 and rows["A02"]["period_points"] == 80
    assert rows["A01"]["name"] == "张*丰" and rows["A02"]["name"] == "李*"
    assert {a.id, b.id, c.id, d.id} == {r["household_id"] for r in n.content["rows"]}
    assert n.status == "draft" and n.revision is None
    assert notice.verify(n)


def test_red_list_is_the_top_ten_with_ties_and_only_those_who_earned(supermarket, admin):
    for i in range(12):
        factories.household(supermarket, number=f"B{i:02d}", points=100 - i if i != 10 else 91)
    factories.household(supermarket, number="B99")  # nothing earned
    n = notice.draft_notice(supermarket.id, this_quarter(), actor=admin)
    red = notice.red_list(n)
    # B09 has 91 and B10 ties it: rank 10 twice, both on the red list; B11 (89) is 12th.
    assert [r["number"] for r in red] == [f"B{i:02d}" for i in range(11)]
    assert [r["rank"] for r in red][-2:] == [10, 10]
    assert not rows_by_number(n)["B11"]["red"]
    assert not rows_by_number(n)["B99"]["red"]


def test_a_small_village_red_list_leaves_out_households_without_points(supermarket, admin):
    factories.household(supermarket, number="C01", points=5)
    factories.household(supermarket, number="C02")
    n = notice.draft_notice(supermarket.id, this_quarter(), actor=admin)
    assert [r["number"] for r in notice.red_list(n)] == ["C01"]
    assert rows_by_number(n)["C02"]["rank"] == 2


def test_points_of_an_earlier_quarter_count_in_the_total_not_the_period(supermarket, admin):
    hh = factories.household(supermarket, number="D01", points=30)
    start, _ = rules.period_bounds(this_quarter())
    backdate_entries(hh.id, datetime.combine(start - timedelta(days=5), datetime.min.time()))
    factories.points_award(hh, 12)
    n = notice.draft_notice(supermarket.id, this_quarter(), actor=admin)
    row = rows_by_number(n)["D01"]
    assert (row["period_points"], row["total_points"]) == (12, 42)


def test_gaoyang_year_total_starts_at_the_year(supermarket, admin):
    factories.policy(supermarket, "gaoyang")
    hh = factories.household(supermarket, number="G01", points=40)
    start, _ = rules.period_bounds(this_quarter())
    backdate_entries(hh.id, datetime(start.year - 1, 6, 1, 10, 0))
    factories.points_award(hh, 7)
    n = notice.draft_notice(supermarket.id, this_quarter(), actor=admin)
    row = rows_by_number(n)["G01"]
    assert row["total_points"] == 7  # "次年重新积分": last year's 40 are not this year's
    assert n.content["yearly"] is True
    assert n.content["distribution"]["kind"] == notice.CHART_BANDS


def test_inactive_households_are_left_out(supermarket, admin):
    from kiosk import households

    gone = factories.household(supermarket, number="E01", points=10)
    factories.household(supermarket, number="E02", points=5)
    households.set_household_status(gone.id, False, actor=None)
    n = notice.draft_notice(supermarket.id, this_quarter(), actor=admin)
    assert [r["number"] for r in n.content["rows"]] == ["E02"]


def test_a_future_quarter_or_a_bad_key_is_refused(supermarket, admin):
    nxt = rules.next_period(this_quarter())
    with pytest.raises(ValidationFailed, match="还没有开始"):
        notice.draft_notice(supermarket.id, nxt, actor=admin)
    with pytest.raises(ValidationFailed, match="格式不正确"):
        notice.draft_notice(supermarket.id, "2024Q5", actor=admin)
    with pytest.raises(ValidationFailed, match="还没有开始"):
        notice.draft_notice(supermarket.id, rules.next_period(this_month()), actor=admin)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0


def test_bands_chart_counts_every_household(supermarket, admin):
    for i, p in enumerate([0, 3, 17, 40, 95, 96]):
        factories.household(supermarket, number=f"F{i}", points=p)
    n = notice.draft_notice(supermarket.id, this_quarter(), actor=admin)
    bars = n.content["distribution"]["bars"]
    assert sum(b["count"] for b in bars) == 6
    assert bars[0] == {"label": "0–19分", "count": 3}
    assert bars[-1] == {"label": "80–99分", "count": 2}


# ---------------------------------------------------------------------------
# 寨里 stars and 羊亭's pyramid
# ---------------------------------------------------------------------------


def test_zhaili_family_star_is_the_average_of_member_scores(supermarket, admin):
    factories.policy(supermarket, "zhaili")
    q = this_quarter()
    five = factories.household(supermarket, number="Z01", members=["张三丰", "张翠山"])
    four = factories.household(supermarket, number="Z02", members=["李四", "王芳"])
    low = factories.household(supermarket, number="Z03", members=["赵六"])
    factories.household(supermarket, number="Z04", members=["钱七"])
    gap = factories.household(supermarket, number="Z05", members=["孙八", "周九"])
    for hh, scores in ((five, [96, 92]), (four, [90, 80]), (low, [65]), (gap, [80, 81])):
        for m, s in zip(hh.members, scores, strict=True):
            assessments.record_assessment(hh.id, q, s, member_id=m.id, actor=admin)
    n = notice.draft_notice(supermarket.id, q, actor=admin)
    assert n.content["basis"] == notice.BASIS_SCORE
    rows = rows_by_number(n)
    assert (rows["Z01"]["score"], rows["Z01"]["tier"], rows["Z01"]["stars"]) == ("94", "五星级", 5)
    assert (rows["Z02"]["score"], rows["Z02"]["tier"]) == ("85", "四星级")
    # 80.5 falls between 70–80 and 81–90: it keeps the lower star, as the rules do.
    assert (rows["Z05"]["score"], rows["Z05"]["tier"]) == ("80.5", "三星级")
    assert (rows["Z03"]["score"], rows["Z03"]["tier"]) == ("65", None)
    assert rows["Z04"]["score"] is None and rows["Z04"]["rank"] is None
    assert [r["number"] for r in n.content["rows"]] == ["Z01", "Z02", "Z05", "Z03", "Z04"]
    assert rows["Z01"]["members"] == [
        {"name": "张*丰", "score": 96, "tier": "五星级"},
        {"name": "张*山", "score": 92, "tier": "五星级"},
    ]
    assert rows["Z02"]["members"][1] == {"name": "王*", "score": 80, "tier": "三星级"}
    # Only households with a star go on the red list.
    assert [r["number"] for r in notice.red_list(n)] == ["Z01", "Z02", "Z05"]
    bars = {b["label"]: b["count"] for b in n.content["distribution"]["bars"]}
    assert bars == {"70分以下": 1, "三星级": 1, "四星级": 1, "五星级": 1, "未评分": 1}
    assert n.content["distribution"]["kind"] == notice.CHART_STARS


def test_zhaili_disqualified_member_counts_zero(supermarket, admin, monkeypatch):
    factories.policy(supermarket, "zhaili")
    q = this_quarter()
    hh = factories.household(supermarket, number="Z11", members=["张三丰", "张翠山"])
    for m in hh.members:
        assessments.record_assessment(hh.id, q, 95, member_id=m.id, actor=admin)
    vetoes.record_veto(
        hh.id,
        on=clock.local_now().date(),
        reason="酒驾",
        member_id=hh.members[1].id,
        actor=admin,
    )
    n = notice.draft_notice(supermarket.id, q, actor=admin)
    row = rows_by_number(n)["Z11"]
    assert [m["score"] for m in row["members"]] == [95, 0]
    assert row["members"][1]["tier"] is None
    assert (row["score"], row["tier"]) == ("47.5", None)
    # The reason of a disqualification is never on the notice.
    assert "酒驾" not in str(n.content)


def test_yangting_pyramid_bands_by_points_earned(supermarket, admin):
    factories.policy(supermarket, "yangting")
    for number, p in (("Y1", 20), ("Y2", 150), ("Y3", 300), ("Y4", 99), ("Y5", 100)):
        factories.household(supermarket, number=number, points=p)
    n = notice.draft_notice(supermarket.id, this_quarter(), actor=admin)
    rows = rows_by_number(n)
    assert {k: r["tier"] for k, r in rows.items()} == {
        "Y1": "塔基",
        "Y2": "塔身",
        "Y3": "塔尖",
        "Y4": "塔基",
        "Y5": "塔身",
    }
    dist = n.content["distribution"]
    assert dist["kind"] == notice.CHART_PYRAMID
    assert [(b["label"], b["count"]) for b in dist["bars"]] == [
        ("塔基", 2),
        ("塔身", 2),
        ("塔尖", 1),
    ]


@pytest.mark.parametrize("rule_set", ["datong", "zhaili", "yangting"])
def test_each_bar_keeps_what_it_stands_for(supermarket, admin, rule_set):
    """Beside its Chinese words each bar stores its meaning (``terms``, one per bar), from which
    a page says it in its own language; said in Chinese it is the stored words, byte for byte."""
    factories.policy(supermarket, rule_set)
    for number, p in (("B1", 120), ("B2", 0), ("B3", 350)):
        factories.household(supermarket, number=number, points=p)
    points.deduct_points(
        factories.household(supermarket, number="B4").id, 3, reason="x", actor=None
    )
    dist = notice.draft_notice(supermarket.id, this_quarter(), actor=admin).content["distribution"]
    terms = notice.bar_terms(dist)
    assert len(terms) == len(dist["bars"]) and None not in terms
    assert {t["band"] for t in terms} == {
        "datong": {notice.BAND_BELOW, notice.BAND_RANGE},
        "zhaili": {notice.BAND_BELOW, notice.BAND_TIER, notice.BAND_UNSCORED},
        "yangting": {notice.BAND_BELOW, notice.BAND_TIER},
    }[rule_set]
    for bar, term in zip(dist["bars"], terms, strict=True):
        label, span = notice.band_words(term)
        assert chinese(label) == bar["label"]
        assert chinese(span) == bar.get("range", "")
    if rule_set == "yangting":
        assert terms[0] == {"band": notice.BAND_BELOW, "value": 0}
        assert terms[-1] == {"band": notice.BAND_TIER, "name": "塔尖", "low": 300, "high": None}
    # A notice stored before the terms were kept says nothing of its bars: its words are shown.
    old = {"kind": dist["kind"], "bars": dist["bars"]}
    assert notice.bar_terms(old) == [None] * len(dist["bars"])
    assert notice.bar_terms({**old, "terms": terms[1:]}) == [None] * len(dist["bars"])


# ---------------------------------------------------------------------------
# Snapshots, publishing, revisions
# ---------------------------------------------------------------------------


def test_published_notice_is_frozen_after_later_points(supermarket, admin):
    hh = factories.household(supermarket, number="H01", points=10)
    q = this_quarter()
    n = notice.publish_notice(notice.draft_notice(supermarket.id, q, actor=admin).id, actor=admin)
    assert (n.status, n.revision) == (NOTICE_PUBLISHED, 1)
    frozen_hash = n.content_hash
    factories.points_award(hh, 25)
    db.session.expire_all()
    again = db.session.get(Notice, n.id)
    assert rows_by_number(again)["H01"]["total_points"] == 10
    assert again.content_hash == frozen_hash and notice.verify(again)
    assert notice.latest_published(supermarket.id).id == n.id
    # A new draft sees the new points; the published one does not move.
    fresh = notice.draft_notice(supermarket.id, q, actor=admin)
    assert rows_by_number(fresh)["H01"]["total_points"] == 35
    assert "notice.published" in actions()


def test_draft_goes_stale_when_the_ledger_moves(supermarket, admin):
    hh = factories.household(supermarket, number="H02", points=10)
    d = notice.draft_notice(supermarket.id, this_quarter(), actor=admin)
    assert not notice.is_stale(d)
    factories.points_award(hh, 1)
    assert notice.is_stale(d)


def test_redrafting_discards_the_older_draft(supermarket, admin):
    factories.household(supermarket, number="H03", points=10)
    first = notice.draft_notice(supermarket.id, this_quarter(), actor=admin)
    second = notice.draft_notice(supermarket.id, this_quarter(), actor=admin)
    db.session.expire_all()
    assert db.session.get(Notice, first.id).status == NOTICE_DISCARDED
    with pytest.raises(ValidationFailed, match="只有草稿可以发布"):
        notice.publish_notice(first.id, actor=admin)
    assert notice.publish_notice(second.id, actor=admin).revision == 1


def test_revision_supersedes_and_keeps_the_old_one(supermarket, admin):
    hh = factories.household(supermarket, number="H04", points=10)
    q = this_quarter()
    first = notice.publish_notice(
        notice.draft_notice(supermarket.id, q, actor=admin).id, actor=admin
    )
    factories.points_award(hh, 5)
    draft = notice.draft_notice(supermarket.id, q, actor=admin)
    with pytest.raises(ValidationFailed, match="修订说明"):
        notice.publish_notice(draft.id, actor=admin)
    second = notice.publish_notice(draft.id, actor=admin, note="根据异议更正")
    db.session.expire_all()
    old = db.session.get(Notice, first.id)
    assert old.status == NOTICE_SUPERSEDED and old.superseded_at is not None
    assert rows_by_number(old)["H04"]["total_points"] == 10
    second = db.session.get(Notice, second.id)
    assert (second.revision, second.supersedes_id, second.note) == (2, first.id, "根据异议更正")
    assert notice.published(supermarket.id, q).id == second.id
    assert notice.check_notices() == []
    published = db.session.scalar(
        sa.select(sa.func.count()).select_from(Notice).where(Notice.status == NOTICE_PUBLISHED)
    )
    assert published == 1


def test_check_finds_a_tampered_notice(supermarket, admin):
    factories.household(supermarket, number="H05", points=10)
    n = notice.publish_notice(
        notice.draft_notice(supermarket.id, this_quarter(), actor=admin).id, actor=admin
    )
    with write_transaction():
        row = db.session.get(Notice, n.id)
        content = dict(row.content)
        content["rows"] = [dict(content["rows"][0], total_points=999)]
        row.content = content
    problems = notice.check_notices()
    assert len(problems) == 1 and "does not match" in problems[0].detail


# ---------------------------------------------------------------------------
# Objections
# ---------------------------------------------------------------------------


def _published(supermarket, admin, q=None):
    return notice.publish_notice(
        notice.draft_notice(supermarket.id, q or this_quarter(), actor=admin).id, actor=admin
    )


def approve_correction(o: Objection, supermarket) -> PointProposal:
    """A second admin of the assessment group signs off the objection's correction."""
    signer = factories.user(f"signer{o.id}", "admin", supermarket, display_name="周委员")
    return intake.approve(objections.correction_proposal(o).id, actor=signer)


def test_objection_upheld_proposes_a_correction_that_counts_once_approved(supermarket, admin):
    hh = factories.household(supermarket, number="O01", head_name="张三丰", points=10)
    other = factories.household(supermarket, number="O02", points=12)
    q = this_quarter()
    n = _published(supermarket, admin, q)
    today = clock.local_now().date()
    o = objections.record_objection(
        n.id,
        hh.id,
        raised_by="张三丰",
        raised_on=today,
        disputed="六月志愿服务8分未计入",
        actor=admin,
    )
    assert o.status == "open" and o.period == q
    assert objections.counts(supermarket.id, q) == {
        "open": 1,
        "upheld": 0,
        "rejected": 0,
        "total": 1,
    }
    o = objections.resolve_objection(
        o.id, upheld=True, resolution="核实属实，补记8分", correction=8, actor=admin
    )
    # Upheld, but the correction is a proposal: one admin alone moves no points.
    assert o.status == "upheld" and o.correction_entry_id is None
    proposal = objections.correction_proposal(o)
    assert (proposal.status, proposal.amount, proposal.entered_by_id) == ("pending", 8, admin.id)
    assert f"第{o.id}号异议" in proposal.reason
    log = actions()
    assert log[-3:] == ["objection.recorded", "proposal.create", "objection.upheld"]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "objection.upheld"))
    assert event.data["correction"] == 8 and event.data["proposal_id"] == proposal.id
    assert db.session.get(PointAccount, hh.account.id).earned_total == 10
    assert (
        rows_by_number(notice.draft_notice(supermarket.id, q, actor=admin))["O01"]["total_points"]
        == 10
    )
    with pytest.raises(SelfApprovalRefused):
        intake.approve(proposal.id, actor=admin)
    approve_correction(o, supermarket)
    o = db.session.get(Objection, o.id)
    entry = db.session.get(PointEntry, o.correction_entry_id)
    assert (entry.kind, entry.amount) == ("award", 8)
    assert f"第{o.id}号异议" in entry.reason
    assert db.session.get(PointAccount, entry.account_id).earned_total == 18
    assert actions()[-2:] == ["points.award", "proposal.approve"]
    revised = notice.publish_notice(
        notice.draft_notice(supermarket.id, q, actor=admin).id, actor=admin, note="异议更正"
    )
    assert rows_by_number(revised)["O01"]["total_points"] == 18
    assert rows_by_number(revised)["O01"]["rank"] == 1
    assert rows_by_number(revised)["O02"]["rank"] == 2
    assert other.id in {r["household_id"] for r in revised.content["rows"]}
    # Resolved once only.
    with pytest.raises(ValidationFailed, match="已经处理过"):
        objections.resolve_objection(o.id, upheld=False, resolution="再驳回", actor=admin)


def test_correction_for_an_earlier_quarter_counts_in_that_quarter(supermarket, admin):
    hh = factories.household(supermarket, number="O11", head_name="李四", points=10)
    q = this_quarter()
    prev = rules.previous_period(q)
    start, _ = rules.period_bounds(prev)
    backdate_entries(hh.id, datetime.combine(start + timedelta(days=3), datetime.min.time()))
    n = _published(supermarket, admin, prev)
    assert rows_by_number(n)["O11"]["period_points"] == 10
    o = objections.record_objection(
        n.id,
        hh.id,
        raised_by="李四",
        raised_on=clock.local_now().date(),
        disputed="少记",
        actor=admin,
    )
    objections.resolve_objection(o.id, upheld=True, resolution="补记", correction=4, actor=admin)
    approve_correction(o, supermarket)
    revised = notice.draft_notice(supermarket.id, prev, actor=admin)
    assert (rows_by_number(revised)["O11"]["period_points"]) == 14
    current = notice.draft_notice(supermarket.id, q, actor=admin)
    row = rows_by_number(current)["O11"]
    assert (row["period_points"], row["total_points"]) == (0, 14)


def test_objection_rejected_changes_no_points(supermarket, admin):
    hh = factories.household(supermarket, number="O21", head_name="王五", points=10)
    n = _published(supermarket, admin)
    o = objections.record_objection(
        n.id,
        hh.id,
        raised_by="王五",
        raised_on=clock.local_now().date(),
        disputed="排名不对",
        actor=admin,
    )
    with pytest.raises(ValidationFailed, match="驳回的异议不能更正积分"):
        objections.resolve_objection(o.id, upheld=False, resolution="x", correction=3, actor=admin)
    o = objections.resolve_objection(o.id, upheld=False, resolution="经核实积分无误", actor=admin)
    assert o.status == "rejected" and o.correction_entry_id is None
    assert db.session.get(PointAccount, hh.account.id).earned_total == 10
    assert actions()[-1] == "objection.rejected"
    assert objections.counts(supermarket.id)["rejected"] == 1


def test_objection_refusals(supermarket, admin):
    hh = factories.household(supermarket, number="O31", head_name="赵六", points=10)
    stranger = factories.household(supermarket, number="O32", head_name="钱七")
    draft = notice.draft_notice(supermarket.id, this_quarter(), actor=admin)
    today = clock.local_now().date()
    with pytest.raises(ValidationFailed, match="正在公示"):
        objections.record_objection(
            draft.id, hh.id, raised_by="赵六", raised_on=today, disputed="x", actor=admin
        )
    n = notice.publish_notice(draft.id, actor=admin)
    with pytest.raises(ValidationFailed, match="家庭成员"):
        objections.record_objection(
            n.id, hh.id, raised_by="钱七", raised_on=today, disputed="x", actor=admin
        )
    with pytest.raises(ValidationFailed, match="异议内容"):
        objections.record_objection(
            n.id, hh.id, raised_by="赵六", raised_on=today, disputed=" ", actor=admin
        )
    with pytest.raises(ValidationFailed, match="晚于今天"):
        objections.record_objection(
            n.id,
            hh.id,
            raised_by="赵六",
            raised_on=today + timedelta(days=1),
            disputed="x",
            actor=admin,
        )
    with pytest.raises(ValidationFailed, match="早于公示发布日期"):
        objections.record_objection(
            n.id,
            hh.id,
            raised_by="赵六",
            raised_on=today - timedelta(days=1),
            disputed="x",
            actor=admin,
        )
    # A household added after publishing is not on it.
    late = factories.household(supermarket, number="O33", head_name="孙八")
    with pytest.raises(ValidationFailed, match="不在这份公示"):
        objections.record_objection(
            n.id, late.id, raised_by="孙八", raised_on=today, disputed="x", actor=admin
        )
    assert stranger.id in {r["household_id"] for r in n.content["rows"]}
    assert objections.counts(supermarket.id)["total"] == 0


def test_zhaili_objection_cannot_correct_points(supermarket, admin):
    factories.policy(supermarket, "zhaili")
    hh = factories.household(supermarket, number="Z21", members=["张三丰"])
    assessments.record_assessment(
        hh.id, this_quarter(), 75, member_id=hh.members[0].id, actor=admin
    )
    n = _published(supermarket, admin)
    o = objections.record_objection(
        n.id,
        hh.id,
        raised_by="张三丰",
        raised_on=clock.local_now().date(),
        disputed="评分偏低",
        actor=admin,
    )
    with pytest.raises(ValidationFailed, match="评分录入"):
        objections.resolve_objection(
            o.id, upheld=True, resolution="改分", correction=5, actor=admin
        )
    o = objections.resolve_objection(
        o.id, upheld=True, resolution="已在评分录入更正为80分", actor=admin
    )
    assert o.status == "upheld"


def test_redact_and_public_name():
    assert notice.redact("电话13812345678") == "电话138****5678"
    assert notice.redact("11010119900101123X") == "110***********123X"
    assert notice.redact("H0001") == "H0001"
    assert notice.public_name("张三110101199001011234") == "张" + "*" * 18 + "4"
    assert notice.stars_of("四星级") == 4 and notice.stars_of("塔基") == 0


def test_quarter_choices():
    assert notice.quarter_choices(date(2024, 2, 1), back=2) == ["2024Q1", "2023Q4", "2023Q3"]


def test_demo_seed_publishes_a_revised_notice_with_objections(supermarket, admin):
    import random

    for i in range(6):
        factories.household(supermarket, number=f"M{i}", points=5 * i, members=["张三丰", "李梅"])
    # The demo's second admin (seed_demo_intake's) signs off the objection's correction.
    second = factories.user(intake.DEMO_SECOND_ADMIN[0], "admin", supermarket)
    users = {"admin": admin, intake.DEMO_SECOND_ADMIN[0]: second}
    notice.seed_demo_notice(supermarket, users, random.Random(7))
    prev = rules.previous_period(this_quarter())
    in_force = notice.published(supermarket.id, prev)
    assert in_force.revision == 2 and in_force.supersedes_id is not None
    assert objections.counts(supermarket.id, prev) == {
        "open": 1,
        "upheld": 1,
        "rejected": 0,
        "total": 2,
    }
    (upheld,) = objections.list_objections(supermarket.id, status="upheld")
    row = next(r for r in in_force.content["rows"] if r["household_id"] == upheld.household_id)
    old = db.session.get(Notice, in_force.supersedes_id)
    old_row = next(r for r in old.content["rows"] if r["household_id"] == upheld.household_id)
    assert row["total_points"] == old_row["total_points"] + 5
    assert [n.status for n in notice.list_notices(supermarket.id)][0] == "draft"


def test_monthly_notice_counts_the_month(supermarket, admin):
    # 001 "每月10日前更新上月积分情况…公示积分情况": a month may be published too.
    hh = factories.household(supermarket, number="MO1", head_name="张三丰", points=30)
    month_start, _ = rules.period_bounds(this_month())
    backdate_entries(hh.id, datetime.combine(month_start - timedelta(days=1), datetime.min.time()))
    factories.points_award(hh, 4)
    n = notice.publish_notice(
        notice.draft_notice(supermarket.id, this_month(), actor=admin).id, actor=admin
    )
    row = rows_by_number(n)["MO1"]
    assert (row["period_points"], row["total_points"]) == (4, 34)
    assert n.content["kind"] == rules.PERIOD_MONTH
    assert n.content["period_label"] == rules.period_label(this_month())
    # A month and its quarter are separate notices; the screen shows the latest period.
    q = notice.publish_notice(
        notice.draft_notice(supermarket.id, this_quarter(), actor=admin).id, actor=admin
    )
    assert notice.published(supermarket.id, this_month()).id == n.id
    assert notice.published(supermarket.id, this_quarter()).id == q.id
    # The quarter ends with or after its month (together: the one published last wins).
    assert notice.latest_published(supermarket.id).id == q.id
    # A correction upheld against the month counts in that month.
    o = objections.record_objection(
        n.id,
        hh.id,
        raised_by="张三丰",
        raised_on=clock.local_now().date(),
        disputed="少记",
        actor=admin,
    )
    objections.resolve_objection(o.id, upheld=True, resolution="补记", correction=2, actor=admin)
    approve_correction(o, supermarket)
    again = notice.draft_notice(supermarket.id, this_month(), actor=admin)
    assert rows_by_number(again)["MO1"]["period_points"] == 6


def test_zhaili_publishes_by_quarter_only(supermarket, admin):
    factories.policy(supermarket, "zhaili")
    factories.household(supermarket, number="ZM1", members=["张三丰"])
    with pytest.raises(ValidationFailed, match="按季度评分"):
        notice.draft_notice(supermarket.id, this_month(), actor=admin)
