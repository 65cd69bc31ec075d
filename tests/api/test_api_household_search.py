"""``GET /api/v1/households?q=`` finds households exactly as the office's search page does:
by pinyin initials, full pinyin, any member's name, number or a card code, best first."""

from __future__ import annotations

import re

import pytest

from kiosk.extensions import db
from tests import factories
from tests.api.test_api_helpers import (  # noqa: F401  (fixtures)
    api_for,
    as_supervisor_fixture,
    check_schema,
)


@pytest.fixture
def village(supermarket):
    zhang = factories.household(
        supermarket, number="A-01", head_name="张三", members=["张三", "王芳"], points=5
    )
    factories.household(supermarket, number="A-02", head_name="李张胜")
    factories.household(supermarket, number="A-03", head_name="曾德明")
    factories.household(supermarket, number="B-01", head_name="赵六")
    other = factories.supermarket(code="GY01", name="高阳积分超市")
    factories.household(other, number="A-09", head_name="张三")  # not this supermarket's
    _, code = factories.card(zhang)
    db.session.commit()
    return code


def login(client, username: str) -> None:
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code == 302


def office_numbers(client, query: str) -> list[str]:
    """The household numbers the office's results list shows, in its order."""
    r = client.get("/households/results", query_string={"q": query})
    assert r.status_code == 200
    return re.findall(r'data-number="([^"]+)"', r.get_data(as_text=True))


def api_numbers(api, query: str) -> list[str]:
    r = api.get("/api/v1/households", query_string={"q": query})
    assert r.status_code == 200
    body = r.get_json()
    check_schema(body, "HouseholdPage")
    numbers = [h["number"] for h in body["households"]]
    assert body["total"] == len(numbers)
    return numbers


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("zs", ["A-01", "A-02"]),  # initials; a word starting with them first
        ("ZS", ["A-01", "A-02"]),
        ("zhangsan", ["A-01"]),  # full pinyin
        ("王芳", ["A-01"]),  # a member who is not the head
        ("wf", ["A-01"]),  # a member's initials
        ("zdm", ["A-03"]),  # 曾 read as a surname (zeng)
        ("B-01", ["B-01"]),
        ("张", ["A-01", "A-02"]),
        ("nobody", []),
    ],
)
def test_api_finds_what_the_office_finds(
    client, supervisor, as_supervisor, village, query, expected
):
    login(client, supervisor.username)
    assert api_numbers(as_supervisor, query) == expected
    assert office_numbers(client, query) == expected


def test_api_finds_a_household_by_its_card_code(client, supervisor, as_supervisor, village):
    login(client, supervisor.username)
    assert api_numbers(as_supervisor, village) == ["A-01"]
    assert office_numbers(client, village) == ["A-01"]


def test_api_search_pages_through_the_same_order(as_supervisor, village):
    first = as_supervisor.get("/api/v1/households?q=zs&per_page=1").get_json()
    second = as_supervisor.get("/api/v1/households?q=zs&per_page=1&page=2").get_json()
    assert (first["total"], second["total"]) == (2, 2)
    assert [h["number"] for h in first["households"] + second["households"]] == ["A-01", "A-02"]
