"""The permission map at work: every route names its action, the office's tabs follow the
pages they open, and pages and API apply one supermarket-scope rule."""

from __future__ import annotations

import pytest
from flask import url_for

from kiosk import create_app, permissions
from kiosk.web.nav import GROUPS, office_nav
from tests import factories
from tests.api.test_api_helpers import api_for

# Views anyone may open: the login, the village hall's notice screen, the self-service screen
# (a card is its key), the phone's app shell and self-report (a link's token is its key), the
# health probe, the API document and the static files.
PUBLIC = {
    "api.openapi_document",
    "auth.login",
    "auth.login_password",
    "auth.login_pin",
    "auth.logout",
    "counter.index",
    "device.healthz",
    "notice.screen_page",
    "phone.icon",
    "phone.manifest",
    "phone.service_worker",
    "selfreport.items",
    "selfreport.self_report",
    "selfservice.page",
    "selfservice.scan_card",
    "static",
}
ROLES = ("keeper", "admin", "supervisor", "recorder")


def test_every_route_names_an_action_of_the_map_or_is_public():
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x", "TESTING": True})
    unguarded, unknown = set(), set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if not hasattr(view, "jifen_action"):
            unguarded.add(rule.endpoint)
        elif view.jifen_action is not None and view.jifen_action not in permissions.ACTIONS:
            unknown.add(rule.endpoint)
    assert unguarded == PUBLIC, "guard the view with @require(action), or list it as public"
    assert unknown == set()


def login(client, username: str) -> None:
    client.post("/logout")
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code == 302, r.get_data(as_text=True)


@pytest.mark.parametrize("role", ROLES)
def test_a_tab_shows_exactly_when_its_page_opens(app, client, supermarket, role):
    user = factories.user(f"{role}1", role, supermarket, pin="1234" if role == "keeper" else None)
    login(client, user.username)
    with app.test_request_context():
        shown = {endpoint for group in office_nav(user) for endpoint, _label in group.items}
    for _label, tabs in GROUPS:
        for tab in tabs:
            with app.test_request_context():
                url = url_for(tab.endpoint)
            r = client.get(url)
            opens = r.status_code != 403
            assert r.status_code < 500, (tab.endpoint, role, r.status_code)
            assert (tab.endpoint in shown) == opens, (tab.endpoint, role, r.status_code)


def test_an_unbound_user_sees_the_kiosks_supermarket_only_on_pages_and_api(
    app, client, supermarket
):
    """The scope disagreement, resolved: the API let a user bound to no supermarket read every
    supermarket's rows by id, while the office showed them only the kiosk's. Both now show the
    rows of the supermarket the user works for, their own or else the kiosk's, and answer any
    other supermarket's row 404 as if it did not exist."""
    here = factories.household(supermarket, points=5)
    elsewhere_sm = factories.supermarket(code="GY01", name="高阳镇积分超市")
    elsewhere = factories.household(elsewhere_sm, points=5)
    unbound = factories.user("county1", "admin", None)
    api = api_for(client, unbound)
    login(client, "county1")
    assert api.get(f"/api/v1/households/{here.id}").status_code == 200
    assert client.get(f"/households/{here.id}").status_code == 200
    assert api.get(f"/api/v1/households/{elsewhere.id}").status_code == 404
    assert client.get(f"/households/{elsewhere.id}").status_code == 404
    assert api.get(f"/api/v1/households/{elsewhere.id}/points").status_code == 404

    # A user bound to the other supermarket works there, on pages and API alike.
    theirs = factories.user("gy_admin", "admin", elsewhere_sm)
    api = api_for(client, theirs)
    login(client, "gy_admin")
    assert api.get(f"/api/v1/households/{elsewhere.id}").status_code == 200
    assert client.get(f"/households/{elsewhere.id}").status_code == 200
    assert api.get(f"/api/v1/households/{here.id}").status_code == 404
    assert client.get(f"/households/{here.id}").status_code == 404
