"""A reason is a code and parameters; its sentence is rendered where it is read, in the reader's
language: Chinese outside a request and by default, English in an English request (?lang=en),
with periods, dates and months in that language too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

import flask_babel
import pytest

from kiosk.messages import Message, chinese
from kiosk.rules import AccountState, Assessment, CartItem, VetoRecord, decide, policy_io
from kiosk.rules.presets import DATONG, GAOYANG, ZHAILI
from kiosk.rules.reasons import (
    ENUMERATION,
    Count,
    Day,
    Listing,
    MonthDay,
    Months,
    Period,
    Phrase,
    Reason,
    Span,
    language,
)

HAN = re.compile(r"[\u4e00-\u9fff]")


@contextmanager
def request_in(app, query: str) -> Iterator[None]:
    """A request context as a page or API answer has it (the test's app context is shared, so
    Flask-Babel's cached locale is dropped, as the app does before each request)."""
    with app.test_request_context(f"/{query}"):
        flask_babel.refresh()
        yield


GAOYANG_CLOSED = datetime(2024, 2, 10, 10, 0)  # February: 高阳 redeems in January, April, ...


def _gaoyang_closed():
    state = AccountState(household_active=True, balance=150)
    return decide(state, GAOYANG, GAOYANG_CLOSED).blocking_reason


def _datong_gate_not_met():
    state = AccountState(
        household_active=True,
        balance=50,
        assessments=(Assessment("2024Q1", 80),),
    )
    return next(r for r in decide(state, DATONG, datetime(2024, 3, 28)).reasons if r.blocking)


def test_outside_a_request_a_reason_reads_in_chinese():
    assert language() == "zh"
    reason = _gaoyang_closed()
    assert reason.code == "window_closed"
    assert reason.message == (
        "每季度第一个月（1月、4月、7月、10月）兑换，今天不能兑换，下次从2024年4月1日开始"
    )


def test_an_english_request_reads_the_same_reason_in_english(app):
    reason = _gaoyang_closed()
    with request_in(app, "?lang=en"):
        assert language() == "en"
        assert reason.message == (
            "Redemption in the first month of each quarter (January, April, July, October): "
            "closed today, open again from 1 April 2024"
        )
    with request_in(app, "?lang=zh"):
        assert reason.message.startswith("每季度第一个月（1月、4月、7月、10月）兑换")


def test_a_reason_is_a_message_and_keeps_its_chinese(app):
    """A reason's sentence is a kiosk.messages.Message (one way to render): read in English by an
    English request, and Chinese, dates and all, for what is stored."""
    reason = _gaoyang_closed()
    chinese_text = "每季度第一个月（1月、4月、7月、10月）兑换，今天不能兑换，下次从2024年4月1日开始"
    assert isinstance(reason.text, Message) and str(reason.text) == chinese_text
    with request_in(app, "?lang=en"):
        assert str(reason.text) == reason.message
        assert reason.message.endswith("open again from 1 April 2024")
        assert chinese(reason.text) == reason.text.chinese() == chinese_text
        assert chinese(Span(2, "quarter")) == "两个季度" and str(Span(2, "quarter")) == "2 quarters"


def test_chinese_is_the_default_language_of_a_request(app):
    with request_in(app, ""):
        assert _gaoyang_closed().message.endswith("下次从2024年4月1日开始")


def test_periods_and_scores_inside_a_reason_follow_the_language(app):
    reason = _datong_gate_not_met()
    assert (
        reason.message
        == "连续两个季度评分需达到85分（2023年第四季度：未评分，2024年第一季度：80分）"
    )
    with request_in(app, "?lang=en"):
        english = reason.message
    assert english == (
        "A score of 85 or more is needed for 2 quarters in a row (Q4 2023: not scored, Q1 2024: 80)"
    )


@pytest.mark.parametrize(
    ("state", "policy", "moment", "cart"),
    [
        (
            AccountState(True, 50, vetoes=(VetoRecord(date(2024, 3, 1)),)),
            DATONG,
            datetime(2024, 3, 28),
            None,
        ),
        (AccountState(True, 120), GAOYANG, datetime(2024, 4, 2), None),
        (
            AccountState(True, 0, assessments=(Assessment("2024Q1", 85, member_id=1),)),
            ZHAILI,
            datetime(2024, 5, 2),
            (CartItem(1, "大米", 1, 200),),
        ),
    ],
    ids=["datong-veto", "gaoyang-open", "zhaili-over-quota"],
)
def test_english_reasons_hold_no_chinese_but_the_villages_own_terms(
    app, state, policy, moment, cart
):
    decision = decide(state, policy, moment, cart)
    with request_in(app, "?lang=en"):
        messages = [r.message for r in decision.reasons]
    own_terms = {t.name for t in policy.tiers} | {r.label for r in policy.restrictions}
    for message in messages:
        for term in own_terms:
            message = message.replace(term, "")
        assert not HAN.search(message), message


def test_to_dict_gives_the_params_as_json():
    state = AccountState(
        True,
        50,
        assessments=(Assessment("2025Q4", 90), Assessment("2026Q1", 90)),
        vetoes=(VetoRecord(date(2026, 3, 1)),),
    )
    vetoed = next(r for r in decide(state, DATONG, datetime(2026, 3, 28)).reasons if r.blocking)
    assert vetoed.to_dict() == {
        "code": "vetoed",
        "message": "2026年3月1日因一票否决取消2026年兑换资格，2027年起恢复（下次兑换日2027年1月28日）",
        "blocking": True,
        "params": {
            "vetoed_on": "2026-03-01",
            "year": 2026,
            "resume_year": 2027,
            "next_open": "2027-01-28",
        },
    }


def test_a_reason_is_not_rendered_until_read():
    reason = Reason(
        "x", "%(day)s：%(period)s", {"day": Day(date(2024, 3, 28)), "period": Period("2024-03")}
    )
    assert reason.msgid == "%(day)s：%(period)s"
    assert reason.message == "2024年3月28日：2024年3月"


@pytest.mark.parametrize(
    ("param", "chinese", "english"),
    [
        (Day(date(2024, 3, 28)), "2024年3月28日", "28 March 2024"),
        (MonthDay(date(2024, 3, 28)), "3月28日", "28 March"),
        (Period("2024Q1"), "2024年第一季度", "Q1 2024"),
        (Period("2024-03"), "2024年3月", "March 2024"),
        (Months((1, 4)), "1月、4月", "January, April"),
        (Count(2), "两", "2"),
        (Span(2, "quarter"), "两个季度", "2 quarters"),
        (Span(1, "quarter"), "一个季度", "1 quarter"),
        (Span(3, "month"), "三个月", "3 months"),
        (Span(1, "month"), "一个月", "1 month"),
        (
            Listing(
                (Phrase("%(min_age)s岁以上", {"min_age": 60}), Phrase("符合条件")), ENUMERATION
            ),
            "60岁以上、符合条件",
            "aged 60 or over, those who qualify",
        ),
    ],
)
def test_each_kind_of_parameter_renders_per_language(app, param, chinese, english):
    assert param.render() == chinese
    with request_in(app, "?lang=en"):
        assert param.render() == english


def test_the_policy_forms_labels_and_choices_follow_the_language(app):
    assert policy_io.field_labels()["points_per_yuan"] == "1元兑换需要的积分"
    assert policy_io.choice_words()["holder"] == {"household": "按户", "individual": "按个人"}
    with request_in(app, "?lang=en"):
        labels, words = policy_io.field_labels(), policy_io.choice_words()
    assert labels["points_per_yuan"] == "Points per 1 yuan"
    assert words["holder"] == {"household": "Per household", "individual": "Per person"}
    assert not [v for v in labels.values() if HAN.search(v)]
    assert not [w for c in words.values() for w in c.values() if HAN.search(w)]


def test_the_policy_page_in_english(client, admin):
    client.post("/login/password", data={"username": "admin1", "password": "secret123"})
    english = client.get("/admin/policy?lang=en").get_data(as_text=True)
    assert "Who is scored" in english and "Per household" in english
    assert "评分对象" not in english
    chinese = client.get("/admin/policy?lang=zh").get_data(as_text=True)
    assert "评分对象" in chinese and "按户" in chinese


def test_a_bad_rule_set_is_named_in_the_readers_language(app):
    from kiosk.errors import ValidationFailed

    bad = {"tiers": [{"name": "一级", "min_value": 0, "max_value": "ten"}]}
    with pytest.raises(ValidationFailed) as err:
        policy_io.policy_from_dict(bad)
    assert err.value.message == "“第1个等级的最高”不正确：应为整数，收到“ten”"
    with request_in(app, "?lang=en"):
        assert (
            err.value.message
            == "“Tiers no. 1, Max” is not right: it should be a whole number, got “ten”"
        )
        with pytest.raises(ValidationFailed) as choice:
            policy_io.policy_from_dict({"holder": "village"})
        english = choice.value.message
    assert english == (
        "“Who is scored” is not right: it should be one of: "
        "household (Per household), individual (Per person)"
    )
