"""Household services on both databases: create, edit, deactivate, members, the search keys
they keep (names, full pinyin, initials, numbers, polyphonic surnames) and the search itself."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from kiosk import cards, households
from kiosk.errors import DuplicateValue, NotFound, ValidationFailed
from kiosk.extensions import db
from kiosk.households import MemberInput
from kiosk.models import ACTIVE, INACTIVE, AuditEvent, Household
from kiosk.search_keys import build_search_key, name_words, normalize_query
from tests import factories


def found(sm, query, **kw) -> list[str]:
    return [h.number for h in households.search_households(sm.id, query, **kw)]


def audit_actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


# Search keys (pure) ---------------------------------------------------------------------------


def test_a_name_gives_itself_its_full_pinyin_and_its_initials():
    assert name_words("张三") == ["张三", "zhangsan", "zs"]
    assert name_words(" 张 三丰 ") == ["张三丰", "zhangsanfeng", "zsf"]


@pytest.mark.parametrize(
    ("name", "surname_reading", "initials"),
    [("曾国藩", "zengguofan", "zgf"), ("单雄信", "shanxiongxin", "sxx"), ("解缙", "xiejin", "xj")],
)
def test_polyphonic_surnames_carry_their_surname_reading(name, surname_reading, initials):
    words = name_words(name)
    # pypinyin alone reads 曾 ceng, 单 dan, 解 jie; the surname readings are there as well.
    assert surname_reading in words and initials in words
    assert words[1] != surname_reading or name == "单雄信"


def test_only_the_first_character_gets_alternative_readings():
    # 重 (zhong/chong) in the given name is read in context only.
    words = name_words("王重阳")
    assert "wangchongyang" in words
    assert "wangzhongyang" not in words


def test_a_minority_name_with_a_dot_and_a_latin_name():
    assert name_words("阿依古丽·买买提")[:3] == ["阿依古丽买买提", "ayigulimaimaiti", "ayglmmt"]
    assert name_words("Tom") == ["tom"]


def test_lv_is_found_as_lv_and_lu():
    assert {"lvbu", "lubu", "lb"} <= set(name_words("吕布"))


def test_the_key_is_lower_case_and_deduplicated():
    key = build_search_key("DT-012", ["张三丰", "张三丰", "李四"])
    assert key == "dt012 张三丰 zhangsanfeng zsf 李四 lisi ls"


def test_queries_are_normalised_like_keys():
    assert normalize_query(" ＺＳ ") == "zs"
    assert normalize_query("DT-012") == "dt012"
    assert len(normalize_query("x" * 80)) == 50


# Create and edit ------------------------------------------------------------------------------


def test_create_fills_the_search_key_and_an_empty_account(supermarket, admin):
    home = households.create_household(
        supermarket.id,
        number="A-01",
        head_name="张三",
        village="东村",
        members=[MemberInput("张三", "户主", date(1950, 3, 7)), MemberInput("王芳", "配偶")],
        actor=admin,
    )
    db.session.expire_all()
    home = db.session.get(Household, home.id)
    # 王 has a second reading (yu) in pypinyin: every reading of a surname is kept.
    assert home.search_key == "a01 张三 zhangsan zs 王芳 wangfang wf yufang yf"
    assert home.account.balance == 0
    assert [m.name for m in home.members] == ["张三", "王芳"]
    assert [a for a in audit_actions() if a.startswith(("household.", "member."))] == [
        "household.create"
    ]


def test_add_household_inside_a_callers_transaction_is_searchable(supermarket):
    """The Excel import calls add_household in its own transaction."""
    from kiosk.database import write_transaction

    with write_transaction():
        households.add_household(
            supermarket.id,
            number="IMP-7",
            head_name="单田芳",
            village="西村",
            group_name="一组",
            members=[MemberInput("单田芳", "户主")],
        )
    assert found(supermarket, "stf") == ["IMP-7"]
    assert found(supermarket, "imp7") == ["IMP-7"]


def test_duplicate_numbers_are_refused_on_create_and_edit(supermarket, admin):
    factories.household(supermarket, number="A-01")
    other = factories.household(supermarket, number="A-02")
    with pytest.raises(DuplicateValue):
        factories.household(supermarket, number="A-01")
    with pytest.raises(DuplicateValue, match="A-01"):
        households.update_household(other.id, number="A-01", head_name="李四", actor=admin)
    db.session.expire_all()
    assert db.session.get(Household, other.id).number == "A-02"


def test_the_same_number_in_another_supermarket_is_fine(supermarket):
    other = factories.supermarket(code="GY01", name="高阳镇积分超市")
    factories.household(supermarket, number="A-01")
    factories.household(other, number="A-01")
    assert found(other, "a01") == ["A-01"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("number", "", "户号不能为空"),
        ("head_name", "  ", "户主姓名不能为空"),
        ("number", "X" * 33, "户号太长"),
        ("village", "村" * 51, "村太长"),
    ],
)
def test_bad_household_fields_are_refused(supermarket, field, value, message):
    data = {"number": "A-01", "head_name": "张三", "village": "", "group_name": ""}
    data[field] = value
    with pytest.raises(ValidationFailed, match=message):
        households.create_household(supermarket.id, **data, actor=None)
    assert db.session.scalar(sa.select(sa.func.count(Household.id))) == 0


def test_editing_a_household_recomputes_its_key_and_audits_the_change(supermarket, admin):
    home = factories.household(supermarket, number="A-01", head_name="张三", members=["张三"])
    households.update_household(
        home.id, number="B-09", head_name="曾小明", village="西村", group_name="二组", actor=admin
    )
    assert found(supermarket, "zxm") == ["B-09"]
    assert found(supermarket, "b09") == ["B-09"]
    assert found(supermarket, "a01") == []
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "household.update")
    ).one()
    assert event.data["changes"]["number"] == ["A-01", "B-09"]
    assert event.actor_id == admin.id


def test_an_edit_that_changes_nothing_writes_no_audit(supermarket, admin):
    home = factories.household(supermarket, number="A-01", head_name="张三")
    households.update_household(
        home.id, number="A-01", head_name="张三", village="东村", actor=admin
    )
    assert "household.update" not in audit_actions()


def test_deactivate_and_reactivate_with_a_reason(supermarket, admin):
    home = factories.household(supermarket, number="A-01")
    with pytest.raises(ValidationFailed, match="原因不能为空"):
        households.set_household_status(home.id, False, actor=admin, reason=" ")
    households.set_household_status(home.id, False, actor=admin, reason="迁出")
    db.session.expire_all()
    home = db.session.get(Household, home.id)
    assert (home.status, home.inactive_reason) == (INACTIVE, "迁出")
    households.set_household_status(home.id, True, actor=admin, reason="")
    db.session.expire_all()
    home = db.session.get(Household, home.id)
    assert (home.status, home.inactive_reason) == (ACTIVE, None)
    reasons = [
        e.data["reason"]
        for e in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "household.status")
        )
    ]
    assert reasons == ["迁出", ""]
    # Restoring it again (a retry, a second tap) writes nothing more.
    households.set_household_status(home.id, True, actor=admin, reason="")
    assert audit_actions().count("household.status") == 2


def test_the_api_may_still_deactivate_without_a_reason(supermarket):
    home = factories.household(supermarket)
    households.set_household_status(home.id, False, actor=None)
    assert db.session.get(Household, home.id).status == INACTIVE


# Members --------------------------------------------------------------------------------------


def test_adding_a_member_makes_them_searchable(supermarket, admin):
    home = factories.household(supermarket, number="A-01", head_name="张三", members=["张三"])
    households.add_member(home.id, MemberInput("解小红", "女", date(2010, 5, 1)), actor=admin)
    assert found(supermarket, "xxh") == ["A-01"]
    assert found(supermarket, "jiexiaohong") == ["A-01"]


def test_editing_a_member_recomputes_the_key(supermarket, admin):
    home = factories.household(
        supermarket, number="A-01", head_name="张三", members=["张三", "李四"]
    )
    member = home.members[1]
    households.update_member(member.id, MemberInput("王五", "子", date(1990, 1, 2)), actor=admin)
    assert found(supermarket, "ls") == []
    assert found(supermarket, "ww") == ["A-01"]
    db.session.expire_all()
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "member.update")
    ).one()
    assert event.data["changes"]["name"] == ["李四", "王五"]
    assert event.data["changes"]["birth_date"] == [None, "1990-01-02"]


def test_a_deactivated_member_leaves_the_key_and_comes_back(supermarket, admin):
    home = factories.household(
        supermarket, number="A-01", head_name="张三", members=["张三", "李四"]
    )
    member = home.members[1]
    with pytest.raises(ValidationFailed, match="原因不能为空"):
        households.set_member_status(member.id, False, reason="", actor=admin)
    households.set_member_status(member.id, False, reason="去世", actor=admin)
    assert found(supermarket, "lisi") == []
    with pytest.raises(ValidationFailed, match="已经停用"):
        households.set_member_status(member.id, False, reason="去世", actor=admin)
    households.set_member_status(member.id, True, actor=admin)
    assert found(supermarket, "lisi") == ["A-01"]
    assert audit_actions().count("member.status") == 2


def test_bad_member_input_is_refused(supermarket, admin):
    home = factories.household(supermarket)
    with pytest.raises(ValidationFailed, match="成员姓名不能为空"):
        households.add_member(home.id, MemberInput(" "), actor=admin)
    with pytest.raises(ValidationFailed, match="与户主关系太长"):
        households.add_member(home.id, MemberInput("李四", "关" * 21), actor=admin)
    with pytest.raises(NotFound):
        households.update_member(999, MemberInput("李四"), actor=admin)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1950-03-07", date(1950, 3, 7)),
        ("1950/3/7", date(1950, 3, 7)),
        ("19500307", date(1950, 3, 7)),
        ("1950年3月7日", date(1950, 3, 7)),
        ("１９５０．３．７", date(1950, 3, 7)),
        ("", None),
    ],
)
def test_birth_dates_as_people_type_them(text, expected):
    assert households.parse_birth_date(text, today=date(2026, 1, 1)) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1950-02-30", "不存在"),
        ("50-3-7", "看不懂"),
        ("195003", "看不懂"),
        ("2027-01-01", "还没到"),
        ("18991231", "太早"),
    ],
)
def test_bad_birth_dates_get_a_chinese_reason(text, message):
    with pytest.raises(ValidationFailed, match=message):
        households.parse_birth_date(text, today=date(2026, 1, 1))


def test_age_counts_whole_years():
    assert households.age_on(date(1956, 3, 7), date(2026, 3, 6)) == 69
    assert households.age_on(date(1956, 3, 7), date(2026, 3, 7)) == 70
    assert households.age_on(None, date(2026, 3, 7)) is None


# Search ---------------------------------------------------------------------------------------


@pytest.fixture
def village(supermarket):
    factories.household(supermarket, number="DT-001", head_name="张三", members=["张三", "王芳"])
    factories.household(supermarket, number="DT-002", head_name="李张胜", members=["李张胜"])
    factories.household(supermarket, number="DT-003", head_name="曾国藩", members=["曾国藩"])
    factories.household(supermarket, number="DT-012", head_name="钱七", members=["钱七"])
    return supermarket


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("zs", ["DT-001", "DT-002"]),  # 张三 (word starts with zs) before 李张胜 (lzs)
        ("ZS", ["DT-001", "DT-002"]),
        ("zhangsan", ["DT-001"]),
        ("张三", ["DT-001"]),
        ("wf", ["DT-001"]),  # a member, not the head
        ("zgf", ["DT-003"]),  # 曾 read as a surname
        ("cgf", ["DT-003"]),  # and as pypinyin reads it
        ("zengguofan", ["DT-003"]),
        ("dt-012", ["DT-012"]),
        ("012", ["DT-012"]),
        ("DT-00", ["DT-001", "DT-002", "DT-003"]),
        ("dt003zgf", []),
        ("xyz", []),
    ],
)
def test_search_by_name_pinyin_initials_and_number(village, query, expected):
    assert found(village, query) == expected


def test_an_exact_number_comes_first(supermarket):
    factories.household(supermarket, number="12", head_name="孙一", members=["孙一"])
    factories.household(supermarket, number="112", head_name="孙二", members=["孙二"])
    factories.household(supermarket, number="120", head_name="孙三", members=["孙三"])
    assert found(supermarket, "12")[0] == "12"


def test_an_empty_query_lists_households_by_number(village):
    assert found(village, "") == ["DT-001", "DT-002", "DT-003", "DT-012"]
    assert found(village, "", limit=2) == ["DT-001", "DT-002"]


def test_inactive_households_are_flagged_last_or_filtered(village, admin):
    zhang = db.session.scalar(sa.select(Household).where(Household.number == "DT-001"))
    households.set_household_status(zhang.id, False, actor=admin, reason="迁出")
    rows = households.search_households(village.id, "zs")
    assert [(h.number, h.status) for h in rows] == [("DT-002", ACTIVE), ("DT-001", INACTIVE)]
    assert found(village, "zs", active_only=True) == ["DT-002"]


def test_like_wildcards_in_a_query_are_literal(village):
    assert found(village, "%") == []
    assert found(village, "z%s") == []  # unescaped, it would match zhangsan


def test_search_stays_in_its_supermarket(village):
    other = factories.supermarket(code="GY01", name="高阳镇积分超市")
    factories.household(other, number="G-1", head_name="张三", members=["张三"])
    assert found(village, "zhangsan") == ["DT-001"]
    assert found(other, "zhangsan") == ["G-1"]


def test_rows_without_a_key_still_match_number_and_head(village):
    db.session.execute(sa.update(Household).values(search_key=None))
    db.session.commit()
    assert found(village, "DT-003") == ["DT-003"]
    assert found(village, "曾国") == ["DT-003"]
    assert found(village, "zgf") == []
    assert len(households.stale_search_keys(village.id)) == 4
    assert households.rebuild_search_keys(village.id) == 4
    assert households.rebuild_search_keys(village.id) == 0
    assert households.stale_search_keys() == []
    assert found(village, "zgf") == ["DT-003"]


def test_a_card_code_finds_its_household_even_when_revoked(village, admin):
    home = db.session.scalar(sa.select(Household).where(Household.number == "DT-003"))
    first, payload = factories.card(home)
    cards.issue_card(home.id, actor=admin, reason="遗失")  # the first card is now revoked
    assert households.household_for_card_text(village.id, payload).id == home.id
    spaced = " ".join(payload[i : i + 4] for i in range(0, len(payload), 4))
    assert households.household_for_card_text(village.id, spaced).id == home.id
    other = factories.supermarket(code="GY01", name="高阳镇积分超市")
    assert households.household_for_card_text(other.id, payload) is None
    assert (
        households.household_for_card_text(
            village.id, payload[:-1] + str((int(payload[-1]) + 1) % 10)
        )
        is None
    )
    assert households.household_for_card_text(village.id, "zs") is None


def test_the_check_reports_a_stale_key(village):
    from kiosk.check import run_checks

    assert not [p for p in run_checks() if p.check == "search_keys"]
    db.session.execute(
        sa.update(Household).where(Household.number == "DT-003").values(search_key="dt003")
    )
    db.session.commit()
    problems = [p for p in run_checks() if p.check == "search_keys"]
    assert len(problems) == 1 and "DT-003" in problems[0].subject


def test_the_reindex_command_fills_missing_keys(village, runner):
    db.session.execute(sa.update(Household).values(search_key=None))
    db.session.commit()
    result = runner.invoke(args=["households", "reindex"])
    assert result.exit_code == 0, result.output
    assert "已更新 4 户" in result.output
    assert found(village, "zgf") == ["DT-003"]
    again = runner.invoke(args=["households", "reindex", "--supermarket", village.code])
    assert "已更新 0 户" in again.output


def test_the_demo_seed_has_polyphonic_surnames_and_an_inactive_household(supermarket, admin):
    import random

    added = households.seed_demo_households(supermarket, {"admin": admin}, random.Random(1))
    assert added == 4
    assert found(supermarket, "zdm") == ["90001"]
    assert found(supermarket, "sxy") == ["90002"]
    assert found(supermarket, "xgq") == ["90003"]
    assert found(supermarket, "xlh") == []  # 解老汉 died: no longer in the key
    home = db.session.scalar(sa.select(Household).where(Household.number == "90004"))
    assert (home.status, home.inactive_reason) == (INACTIVE, "迁出")
    assert households.seed_demo_households(supermarket, {"admin": admin}, random.Random(1)) == 0
