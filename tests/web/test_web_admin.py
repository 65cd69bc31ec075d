"""The rule-set administration pages through Flask's test client: who may open them, what each
shows (the policy in sentences, the preview table, the assessments grid, the vetoes), and that
supervisors get them read-only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kiosk import assessments, rules, vetoes
from kiosk.clock import local_now
from kiosk.rules import policies, presets
from tests import factories

PAGES = ["/admin", "/admin/policy", "/admin/preview", "/admin/assessments", "/admin/vetoes"]


def login(client, username: str) -> None:
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code == 302


@pytest.mark.parametrize("url", PAGES)
def test_visitors_are_sent_to_login(client, supermarket, url):
    r = client.get(url)
    assert r.status_code == 302
    assert "/login" in r.headers["Location"]


@pytest.mark.parametrize("url", PAGES)
def test_keepers_may_not_open_the_admin_pages(client, keeper, url):
    login(client, "keeper1")
    r = client.get(url)
    assert r.status_code == 403
    assert "没有权限" in r.get_data(as_text=True)


@pytest.mark.parametrize("url", PAGES)
def test_admins_open_every_page_with_its_controls(client, admin, url):
    factories.household(admin.supermarket, points=30, head_name="张三丰", number="A-01")
    login(client, "admin1")
    r = client.get(url)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "office-nav" in page and "兑换规则" in page
    assert "admin.js" in page
    assert 'data-can-edit="true"' in page
    assert "只读" not in page


@pytest.mark.parametrize("url", PAGES)
def test_supervisors_see_the_pages_read_only(client, supervisor, url):
    policies.set_policy(supervisor.supermarket_id, presets.DATONG, actor=None)
    factories.household(supervisor.supermarket, points=30, number="A-01")
    login(client, "super1")
    r = client.get(url)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert 'data-can-edit="false"' in page
    assert "只读" in page
    for control in ('id="policy-form"', 'id="save-scores"', 'id="veto-form"', "use-preset"):
        assert control not in page


def test_counter_links_to_home_and_the_keepers_stock_jobs(client, admin, keeper):
    # The office is reached through 首页, not a button labelled 规则管理; a keeper's stock-in
    # and count are one tap from the counter (not behind 打印机).
    login(client, "admin1")
    page = client.get("/counter").get_data(as_text=True)
    assert 'id="to-home"' in page and 'id="to-admin"' not in page
    assert 'id="to-stock-in"' not in page
    client.post("/logout")
    login(client, "keeper1")
    page = client.get("/counter").get_data(as_text=True)
    assert 'id="to-home"' in page
    assert 'href="/stock/in" id="to-stock-in"' in page
    assert 'id="to-stocktake"' in page


def test_policy_page_states_the_rules_in_sentences(client, admin):
    policies.set_policy(admin.supermarket_id, presets.DATONG, actor=None)
    login(client, "admin1")
    page = client.get("/admin/policy").get_data(as_text=True)
    assert "大同镇文明积分制" in page
    assert "连续2个考评期评分都达到85分以上，才能兑换。" in page
    assert "评分平均值每1分折换成积分0.1分" in page
    assert "每月最后一个赶场天兑换" in page
    assert "一票否决：清零当前积分，并取消当年兑换资格。" in page
    # Every preset with its own sentences, and the TOML of the current policy.
    for p in presets.PRESETS.values():
        assert p.name in page
    assert "三星级 70–80分，每期可兑换50元" in page
    assert "基础分100分不能兑换" in page
    assert "min_score = 85" in page
    assert 'id="policy-data"' in page


def test_preview_page_lists_every_household(client, admin):
    sm = admin.supermarket
    factories.household(sm, points=150, head_name="张三丰", number="A-01")
    factories.household(sm, points=20, head_name="李四", number="A-02")
    login(client, "admin1")
    page = client.get("/admin/preview?date=2024-02-10&preset=gaoyang").get_data(as_text=True)
    assert "2024-02-10" in page
    assert "共2户，0户可以兑换" in page
    assert "张三丰" in page and "李四" in page
    assert page.count('class="row-no"') == 2
    page = client.get("/admin/preview?date=2024-01-10&preset=gaoyang").get_data(as_text=True)
    assert "共2户，1户可以兑换" in page


def test_preview_page_explains_a_bad_date(client, admin):
    login(client, "admin1")
    page = client.get("/admin/preview?date=2024-13-45&preset=nowhere").get_data(as_text=True)
    assert "没有这个规则模板" in page or "日期格式不正确" in page


def test_assessments_grid_has_a_row_per_member_under_zhaili(client, admin):
    sm = admin.supermarket
    policies.set_policy(sm.id, presets.ZHAILI, actor=None)
    hh = factories.household(sm, number="Z-01", members=["张三丰", "张翠山"])
    period = rules.period_key(local_now().date(), rules.PERIOD_QUARTER)
    assessments.record_assessment(hh.id, period, 88, member_id=hh.members[0].id, actor=admin)
    login(client, "admin1")
    page = client.get("/admin/assessments").get_data(as_text=True)
    assert f'data-period="{period}"' in page
    assert page.count('class="score-row"') == 2
    assert "张翠山" in page
    assert 'value="88"' in page
    assert 'data-current="88"' in page


def test_assessments_grid_refuses_a_future_period(client, admin):
    factories.household(admin.supermarket)
    login(client, "admin1")
    future = rules.period_key(local_now().date() + timedelta(days=100), rules.PERIOD_QUARTER)
    page = client.get(f"/admin/assessments?period={future}").get_data(as_text=True)
    assert "不能登记未来期间" in page
    period = rules.period_key(local_now().date(), rules.PERIOD_QUARTER)
    assert f'data-period="{period}"' in page


def test_vetoes_page_lists_this_years_records(client, admin):
    sm = admin.supermarket
    policies.set_policy(sm.id, presets.DATONG, actor=None)
    hh = factories.household(sm, points=40, head_name="王大锤", number="D-07")
    vetoes.record_veto(hh.id, on=local_now().date(), reason="违章建房", actor=admin)
    login(client, "admin1")
    page = client.get("/admin/vetoes").get_data(as_text=True)
    assert "违章建房" in page
    assert "D-07 王大锤" in page
    assert 'id="veto-form"' in page
    assert "清零该户当前积分" in page


def test_vetoes_page_without_a_veto_rule(client, admin):
    login(client, "admin1")
    page = client.get("/admin/vetoes").get_data(as_text=True)
    assert 'id="veto-off"' in page
    assert 'id="veto-form"' not in page
