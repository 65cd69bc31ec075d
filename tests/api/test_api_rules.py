"""Rule-set API (issue 3): the policy and its presets, the preview of every household's standing,
assessments (one and in a batch), veto records and the year-end cycle close — happy paths,
refusals in Chinese naming the field, and who may call what."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from kiosk import rules
from kiosk.clock import local_now
from kiosk.extensions import db
from kiosk.models import Assessment, PointAccount, Supermarket, Veto
from kiosk.rules import policies, policy_io, presets
from tests import factories
from tests.api.test_api_helpers import (  # noqa: F401  (fixtures)
    Api,
    api_for,
    as_admin_fixture,
    as_keeper_fixture,
    as_supervisor_fixture,
    check_schema,
    error_code,
)


def fresh() -> None:
    db.session.commit()
    db.session.expire_all()


def use(supermarket, key: str) -> None:
    policies.set_policy(supermarket.id, presets.preset(key), actor=None)


def this_quarter() -> str:
    return rules.period_key(local_now().date(), rules.PERIOD_QUARTER)


def balance(household_id: int) -> int:
    fresh()
    return db.session.scalar(
        sa.select(PointAccount.balance).where(PointAccount.household_id == household_id)
    )


def count(model) -> int:
    fresh()
    return db.session.scalar(sa.select(sa.func.count(model.id)))


def put(api: Api, body):
    return api.put("/api/v1/policy", body)


# Policy -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["keeper", "admin", "supervisor"])
def test_everyone_reads_the_policy_and_the_presets(client, supermarket, role):
    user = factories.user(f"{role}9", role, supermarket)
    r = api_for(client, user).get("/api/v1/policy")
    assert r.status_code == 200
    body = r.get_json()
    check_schema(body, "PolicyInfo")
    assert body["policy"]["name"] == "默认规则"
    assert [p["key"] for p in body["presets"]] == ["datong", "gaoyang", "zhaili", "yangting"]
    assert {p["name"] for p in body["presets"]} >= {"寨里镇美德信用积分", "大同镇文明积分制"}


def test_admin_switches_to_a_preset(as_admin, supermarket):
    r = put(as_admin, {"preset": "zhaili"})
    assert r.status_code == 200
    body = r.get_json()
    check_schema(body, "PolicyResult")
    assert body["policy"]["preset"] == "zhaili"
    assert body["policy"]["spend"] == "quota"
    fresh()
    assert policies.policy_for(db.session.get(Supermarket, supermarket.id)) == presets.ZHAILI
    assert as_admin.get("/api/v1/policy").get_json()["policy"]["preset"] == "zhaili"


def test_admin_saves_an_edited_policy(as_admin, supermarket):
    data = as_admin.get("/api/v1/policy").get_json()["policy"]
    data.update(name="本村规则", reserved_base=100, veto="clear_and_bar_year")
    data["gate"] = {"min_score": 80, "consecutive_periods": 2}
    data["window"] = {
        "kind": "months",
        "months": [1, 4, 7, 10],
        "market_days": [],
        "every_months": 1,
    }
    r = put(as_admin, {"policy": data})
    assert r.status_code == 200, r.get_json()
    saved = r.get_json()["policy"]
    assert saved["reserved_base"] == 100
    assert saved["gate"] == {"min_score": 80, "consecutive_periods": 2}
    assert saved["window"]["months"] == [1, 4, 7, 10]
    fresh()
    policy = policies.policy_for(db.session.get(Supermarket, supermarket.id))
    assert policy.name == "本村规则"
    assert policy.gate == rules.Gate(80, 2)


def test_admin_saves_a_toml_policy(as_admin, supermarket):
    text = policy_io.policy_to_toml(presets.GAOYANG)
    r = put(as_admin, {"toml": text})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["policy"]["reserved_base"] == 100
    fresh()
    assert policies.policy_for(db.session.get(Supermarket, supermarket.id)) == presets.GAOYANG


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "之一"),
        ({"preset": "zhaili", "toml": "name = 'x'"}, "之一"),
        ({"preset": "beijing"}, "规则模板"),
        ({"policy": "datong"}, "兑换规则"),
        ({"policy": {"points_per_yuan": 0}}, "1元兑换需要的积分"),
        ({"toml": "name = "}, "TOML"),
        ({"toml": ""}, "规则文本"),
    ],
)
def test_bad_policy_is_refused_in_chinese_and_nothing_changes(as_admin, supermarket, body, words):
    use(supermarket, "datong")
    r = put(as_admin, body)
    assert r.status_code == 400
    assert error_code(r) == "invalid_request"
    message = r.get_json()["error"]["message"]
    assert words in message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message)
    fresh()
    assert policies.policy_for(db.session.get(Supermarket, supermarket.id)) == presets.DATONG


# Preview ------------------------------------------------------------------------------------


def test_preview_shows_every_household_under_a_preset(as_admin, supermarket):
    rich = factories.household(sm := supermarket, points=150, head_name="张三丰", number="A-01")
    factories.household(sm, points=20, head_name="李四", number="A-02")
    on = date(2024, 1, 15)
    r = as_admin.get(f"/api/v1/policy/preview?date={on.isoformat()}&preset=gaoyang")
    assert r.status_code == 200
    body = r.get_json()
    check_schema(body, "Preview")
    assert body["date"] == "2024-01-15"
    assert body["policy"] == {"name": presets.GAOYANG.name, "preset": "gaoyang"}
    rows = {h["number"]: h for h in body["households"]}
    assert list(rows) == ["A-01", "A-02"]
    # 高阳: "超出基础分的部分（即总积分减去100分）" may be redeemed, in January (每季度第一月).
    assert rows["A-01"]["id"] == rich.id
    assert rows["A-01"]["name"] == "张三丰"
    assert rows["A-01"]["may_redeem"] is True
    assert rows["A-01"]["spendable"] == 50
    assert rows["A-02"]["may_redeem"] is False
    assert any(r["blocking"] for r in rows["A-02"]["reasons"])
    # The preview changes nothing: the supermarket still runs its own policy.
    fresh()
    assert policies.policy_for(db.session.get(Supermarket, supermarket.id)).preset is None


def test_preview_in_a_closed_month_says_when_it_opens(as_keeper, supermarket):
    factories.household(supermarket, points=150, number="A-01")
    use(supermarket, "gaoyang")
    body = as_keeper.get("/api/v1/policy/preview?date=2024-02-10").get_json()
    row = body["households"][0]
    assert row["may_redeem"] is False
    assert row["next_open"] == "2024-04-01"
    codes = [r["code"] for r in row["reasons"] if r["blocking"]]
    assert "window_closed" in codes


def test_keeper_sees_masked_names_in_the_preview(as_keeper, supermarket):
    factories.household(supermarket, points=5, head_name="张三丰")
    body = as_keeper.get("/api/v1/policy/preview").get_json()
    assert body["households"][0]["name"] == "张*丰"
    assert body["date"] == local_now().date().isoformat()


@pytest.mark.parametrize(
    ("query", "field"),
    [("date=2024-13-01", "date"), ("date=yesterday", "date"), ("preset=beijing", "preset")],
)
def test_preview_refuses_bad_query(as_admin, supermarket, query, field):
    r = as_admin.get(f"/api/v1/policy/preview?{query}")
    assert r.status_code == 400
    assert error_code(r) == "invalid_request"
    assert r.get_json()["error"]["details"]["field"] == field


# Assessments --------------------------------------------------------------------------------


def test_admin_records_a_household_score(as_admin, supermarket):
    hh = factories.household(supermarket, number="A-01")
    period = this_quarter()
    r = as_admin.post(
        "/api/v1/assessments",
        {"period": period.lower(), "household_id": hh.id, "score": 88, "note": "村民代表评议"},
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    check_schema(body, "AssessmentResult")
    a = body["assessment"]
    assert (a["household_id"], a["member_id"], a["period"], a["score"]) == (hh.id, None, period, 88)
    assert a["household_number"] == "A-01"
    assert a["note"] == "村民代表评议"
    assert a["created_by"] == "李主任"
    # A correction is a new record; the latest counts.
    as_admin.post("/api/v1/assessments", {"period": period, "household_id": hh.id, "score": 90})
    listed = as_admin.get(f"/api/v1/assessments?period={period}").get_json()
    check_schema(listed, "AssessmentList")
    assert [x["score"] for x in listed["assessments"]] == [90]
    assert count(Assessment) == 2


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"score": 101}, "score", "评分"),
        ({"score": -1}, "score", "评分"),
        ({"score": "85"}, "score", "整数"),
        ({"score": None}, "score", "不能为空"),
        ({"period": "2024Q5"}, "period", "考评期"),
        ({"period": "2024年一季度"}, "period", "考评期"),
        ({"household_id": "x"}, "household_id", "整数"),
    ],
)
def test_bad_assessment_is_refused_naming_the_field(as_admin, supermarket, change, field, words):
    hh = factories.household(supermarket)
    body = {"period": this_quarter(), "household_id": hh.id, "score": 80, **change}
    r = as_admin.post("/api/v1/assessments", body)
    assert r.status_code == 400
    assert error_code(r) == "invalid_request"
    err = r.get_json()["error"]
    assert err["details"]["field"] == field
    assert words in err["message"]
    assert count(Assessment) == 0


def test_future_period_and_other_households_are_refused(as_admin, supermarket):
    hh = factories.household(supermarket)
    other_sm = factories.supermarket(code="GY01", name="高阳镇积分超市")
    stranger = factories.household(other_sm, head_name="王五")
    future = rules.period_key(local_now().date() + timedelta(days=120), rules.PERIOD_QUARTER)
    r = as_admin.post("/api/v1/assessments", {"period": future, "household_id": hh.id, "score": 80})
    assert r.status_code == 400
    assert "未来" in r.get_json()["error"]["message"]
    r = as_admin.post(
        "/api/v1/assessments",
        {"period": this_quarter(), "household_id": stranger.id, "score": 80},
    )
    assert r.status_code == 404
    assert error_code(r) == "not_found"
    assert count(Assessment) == 0


def test_member_scores_under_zhaili_in_a_batch(as_admin, supermarket):
    use(supermarket, "zhaili")
    hh = factories.household(supermarket, number="Z-01", members=["张三丰", "张翠山"])
    other = factories.household(supermarket, number="Z-02", members=["李四"])
    m1, m2 = (m.id for m in hh.members)
    period = this_quarter()
    scores = [
        {"household_id": hh.id, "member_id": m1, "score": 95},
        {"household_id": hh.id, "member_id": m2, "score": 72},
        {"household_id": other.id, "member_id": other.members[0].id, "score": 65},
    ]
    r = as_admin.post("/api/v1/assessments/batch", {"period": period, "scores": scores})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    check_schema(body, "AssessmentList")
    assert [(a["member_id"], a["score"]) for a in body["assessments"]] == [
        (m1, 95),
        (m2, 72),
        (other.members[0].id, 65),
    ]
    assert body["assessments"][0]["member_name"] == "张三丰"
    # The counter's decision follows: 寨里 quotas summed over members (150 + 50).
    rows = {h["number"]: h for h in as_admin.get("/api/v1/policy/preview").get_json()["households"]}
    assert rows["Z-01"]["quota_left"] == 200
    assert rows["Z-02"]["may_redeem"] is False
    assert "no_tier" in [x["code"] for x in rows["Z-02"]["reasons"] if x["blocking"]]


@pytest.mark.parametrize(
    ("bad_row", "field", "words"),
    [
        ({"score": 120}, "scores[1].score", "评分"),
        ({"member_id": None}, "scores[1].member_id", "按个人评分"),
        ({"member_id": "OTHER"}, "scores[1].member_id", "不是该户的家庭成员"),
        ({"household_id": "FOREIGN"}, "scores[1].household_id", "不是本超市的户"),
        ({"member_id": "FIRST"}, "scores[1].household_id", "重复"),
    ],
)
def test_batch_is_all_or_nothing_and_names_the_row(as_admin, supermarket, bad_row, field, words):
    use(supermarket, "zhaili")
    hh = factories.household(supermarket, members=["张三丰", "张翠山"])
    other = factories.household(supermarket, members=["李四"])
    foreign = factories.household(factories.supermarket(code="X1", name="外镇"), members=["王五"])
    m1, m2 = (m.id for m in hh.members)
    values = {"OTHER": other.members[0].id, "FOREIGN": foreign.id, "FIRST": m1}
    row = {"household_id": hh.id, "member_id": m2, "score": 80}
    row.update({k: values.get(v, v) for k, v in bad_row.items()})
    scores = [{"household_id": hh.id, "member_id": m1, "score": 90}, row]
    r = as_admin.post("/api/v1/assessments/batch", {"period": this_quarter(), "scores": scores})
    assert r.status_code == 400
    err = r.get_json()["error"]
    assert err["details"]["field"] == field
    assert words in err["message"]
    assert count(Assessment) == 0


def test_household_policy_refuses_a_member_in_the_batch(as_admin, supermarket):
    hh = factories.household(supermarket, members=["张三丰"])
    r = as_admin.post(
        "/api/v1/assessments/batch",
        {
            "period": this_quarter(),
            "scores": [{"household_id": hh.id, "member_id": hh.members[0].id, "score": 90}],
        },
    )
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["field"] == "scores[0].member_id"
    r = as_admin.post("/api/v1/assessments/batch", {"period": this_quarter(), "scores": []})
    assert r.status_code == 400
    assert "评分清单" in r.get_json()["error"]["message"]


def test_assessment_list_defaults_to_this_period(as_admin, supermarket):
    hh = factories.household(supermarket)
    as_admin.post(
        "/api/v1/assessments", {"period": this_quarter(), "household_id": hh.id, "score": 77}
    )
    body = as_admin.get("/api/v1/assessments").get_json()
    assert body["period"] == this_quarter()
    assert [a["score"] for a in body["assessments"]] == [77]
    r = as_admin.get("/api/v1/assessments?period=Q1")
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["field"] == "period"


# Vetoes -------------------------------------------------------------------------------------


def test_datong_veto_clears_points_and_is_listed(as_admin, supermarket):
    use(supermarket, "datong")
    hh = factories.household(supermarket, points=60, number="D-01")
    today = local_now().date()
    r = as_admin.post(
        "/api/v1/vetoes", {"household_id": hh.id, "on": today.isoformat(), "reason": "违章建房"}
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    check_schema(body, "VetoResult")
    v = body["veto"]
    assert (v["household_id"], v["on"], v["kind"], v["reason"]) == (
        hh.id,
        today.isoformat(),
        "clear_and_bar_year",
        "违章建房",
    )
    # 大同: "清零当前积分，并取消当年兑换资格".
    assert balance(hh.id) == 0
    listed = as_admin.get(f"/api/v1/vetoes?year={today.year}").get_json()
    check_schema(listed, "VetoList")
    assert [x["id"] for x in listed["vetoes"]] == [v["id"]]
    assert as_admin.get(f"/api/v1/vetoes?year={today.year - 1}").get_json()["vetoes"] == []
    assert len(as_admin.get("/api/v1/vetoes").get_json()["vetoes"]) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"on": "2024-02-30"}, "on"),
        ({"on": None}, "on"),
        ({"on": "FUTURE"}, "on"),
        ({"member_id": "OTHER"}, "member_id"),
    ],
)
def test_bad_veto_is_refused(as_admin, supermarket, change, field):
    use(supermarket, "datong")
    hh = factories.household(supermarket, points=60)
    other = factories.household(supermarket)
    body = {"household_id": hh.id, "on": local_now().date().isoformat(), "reason": "违章建房"}
    body.update(change)
    if body.get("on") == "FUTURE":
        body["on"] = (date.today() + timedelta(days=3)).isoformat()
    if body.get("member_id") == "OTHER":
        body["member_id"] = other.members[0].id
    r = as_admin.post("/api/v1/vetoes", body)
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["field"] == field
    assert count(Veto) == 0
    assert balance(hh.id) == 60


def test_veto_under_a_policy_without_veto_is_refused(as_admin, supermarket):
    hh = factories.household(supermarket, points=10)
    r = as_admin.post(
        "/api/v1/vetoes",
        {"household_id": hh.id, "on": local_now().date().isoformat(), "reason": "违章建房"},
    )
    assert r.status_code == 400
    assert "没有一票否决" in r.get_json()["error"]["message"]
    assert count(Veto) == 0


# Cycle close --------------------------------------------------------------------------------


def test_cycle_close_is_idempotent(as_admin, supermarket):
    hh = factories.household(supermarket, points=130)  # registered before 高阳's rules (no base)
    use(supermarket, "gaoyang")
    year = local_now().year - 1
    r = as_admin.post("/api/v1/cycle/close", {"year": year})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    check_schema(body, "CycleResult")
    assert body["cycle"]["year"] == year
    assert body["cycle"]["households"] == 1
    assert body["cycle"]["expired_points"] == 130
    assert body["cycle"]["granted_points"] == 100
    # 高阳: "每年赋予每户基础分100分…次年重新积分".
    assert balance(hh.id) == 100
    again = as_admin.post("/api/v1/cycle/close", {"year": year})
    assert again.status_code == 200
    assert again.get_json() == body
    assert balance(hh.id) == 100


@pytest.mark.parametrize("year", ["2024", None, 1999, "NEXT"])
def test_cycle_close_refuses_bad_years(as_admin, supermarket, year):
    use(supermarket, "gaoyang")
    if year == "NEXT":
        year = local_now().year + 1
    r = as_admin.post("/api/v1/cycle/close", {"year": year})
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["field"] == "year"


def test_cycle_close_refused_for_a_rolling_policy(as_admin, supermarket):
    use(supermarket, "datong")
    r = as_admin.post("/api/v1/cycle/close", {"year": local_now().year - 1})
    assert r.status_code == 400
    assert "滚动" in r.get_json()["error"]["message"]


# Who may call what --------------------------------------------------------------------------

READS = [
    ("GET", "/api/v1/policy", None, ("keeper", "admin", "supervisor")),
    ("GET", "/api/v1/policy/preview", None, ("keeper", "admin", "supervisor")),
    ("GET", "/api/v1/assessments?period=2024Q1", None, ("admin", "supervisor")),
    ("GET", "/api/v1/vetoes", None, ("admin", "supervisor")),
]
WRITES = [
    ("PUT", "/api/v1/policy", {"preset": "datong"}, ("admin",)),
    (
        "POST",
        "/api/v1/assessments",
        {"period": "2024Q1", "household_id": 0, "score": 90},
        ("admin",),
    ),
    (
        "POST",
        "/api/v1/assessments/batch",
        {"period": "2024Q1", "scores": [{"household_id": 0, "score": 90}]},
        ("admin",),
    ),
    ("POST", "/api/v1/vetoes", {"household_id": 0, "on": "2024-03-01", "reason": "x"}, ("admin",)),
    ("POST", "/api/v1/cycle/close", {"year": 2023}, ("admin",)),
]


def _call(api: Api, method: str, url: str, body):
    if method == "GET":
        return api.get(url)
    if method == "PUT":
        return put(api, body)
    return api.post(url, body)


@pytest.mark.parametrize("role", ["keeper", "admin", "supervisor", None])
@pytest.mark.parametrize(
    ("method", "url", "body", "allowed"), READS + WRITES, ids=lambda v: str(v)[:30]
)
def test_role_matrix(client, supermarket, role, method, url, body, allowed):
    key = "gaoyang" if "cycle" in url else "datong"
    use(supermarket, key)
    hh = factories.household(supermarket, points=40)
    if isinstance(body, dict):
        body = dict(body)
        if "household_id" in body:
            body["household_id"] = hh.id
        if "scores" in body:
            body["scores"] = [{"household_id": hh.id, "score": 90}]
    api = (
        Api(client, None)
        if role is None
        else api_for(client, factories.user("u9", role, supermarket))
    )
    entries_before = count(Assessment), count(Veto), balance(hh.id)
    r = _call(api, method, url, body)
    if role is None:
        assert r.status_code == 401
        assert error_code(r) == "unauthorized"
    elif role not in allowed:
        assert r.status_code == 403
        assert error_code(r) == "forbidden"
    else:
        assert r.status_code in (200, 201), r.get_json()
    if role != "admin" or method == "GET":
        assert (count(Assessment), count(Veto), balance(hh.id)) == entries_before
        fresh()
        assert policies.policy_for(db.session.get(Supermarket, supermarket.id)) == presets.preset(
            key
        )


def test_session_write_needs_the_csrf_header(app, client, admin):
    client.post("/login/password", data={"username": "admin1", "password": "secret123"})
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        r = client.put("/api/v1/policy", json={"preset": "zhaili"})
        assert r.status_code == 400
        assert error_code(r) == "csrf_failed"
        fresh()
        assert policies.policy_for(db.session.get(Supermarket, admin.supermarket_id)).preset is None
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
