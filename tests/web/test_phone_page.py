"""The phone page's wiring (手机记分, /m/): who may open it, the household list, scanning a card
frame, the installable parts (manifest, service worker, icon) and the login landing."""

from __future__ import annotations

import pytest

from kiosk import standards
from tests import factories
from tests.scan_images import jpeg, qr_image, scene


@pytest.fixture
def village(supermarket):
    standards.seed_standard_items(supermarket.id, actor=None)
    home = factories.household(supermarket, points=10)
    home.group_name = "三组"
    from kiosk.extensions import db

    db.session.commit()
    _card, payload = factories.card(home)
    factories.user("pingyi1", "recorder", supermarket)
    factories.user("keeper1", "keeper", supermarket, pin="1234")
    factories.user("admin1", "admin", supermarket)
    return {"home": home, "payload": payload}


def login(client, username):
    client.post("/logout")
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code == 302
    return r.headers["Location"]


def test_recorder_lands_on_the_phone_page_and_sees_standards_and_places(client, village):
    assert login(client, "pingyi1").endswith("/m/")
    r = client.get("/m/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "手机记分" in html and 'rel="manifest"' in html
    assert 'data-points="' in html  # 寨里's standards, points prefilled from them
    assert '<option value="三组">' in html  # the village's groups as places
    assert "geolocation=(self)" in r.headers["Permissions-Policy"]
    # A recorder opens nothing of the office.
    for url in ("/", "/intake", "/households", "/counter"):
        assert client.get(url).status_code in (302, 403), url
    assert client.get("/intake").status_code == 403


@pytest.mark.parametrize(("username", "status"), [("keeper1", 403), ("admin1", 200)])
def test_who_may_open_the_phone_page(client, village, username, status):
    login(client, username)
    assert client.get("/m/").status_code == status
    assert client.get("/m/households").status_code == status


def test_anonymous_visitor_is_sent_to_login(client, village):
    r = client.get("/m/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.get("/m/households").status_code == 401


def test_household_list_and_scan_find_the_household(client, village):
    login(client, "pingyi1")
    listed = client.get("/m/households").get_json()["households"]
    home = village["home"]
    assert [h["id"] for h in listed] == [home.id]
    assert listed[0]["group"] == "三组" and listed[0]["number"] == home.number
    r = client.post(
        "/m/scan", data=jpeg(scene(qr_image(village["payload"]))), content_type="image/jpeg"
    )
    assert r.status_code == 200
    assert r.get_json() == {"found": True, "household": listed[0]}
    r = client.post("/m/scan", data=jpeg(scene(None)), content_type="image/jpeg")
    assert r.get_json() == {"found": False}
    r = client.post("/m/scan", data=b"not an image", content_type="image/jpeg")
    assert r.status_code == 400


def test_installable_manifest_service_worker_and_icon(client, village):
    manifest = client.get("/m/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    body = manifest.get_json(force=True)
    assert body["start_url"] == "/m/" and body["scope"] == "/m/"
    assert body["display"] == "standalone"
    icon = client.get(body["icons"][0]["src"])
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert b"<svg" in icon.data
    sw = client.get("/m/sw.js")
    assert sw.status_code == 200 and sw.mimetype == "text/javascript"
    assert b"/static/js/phone.js" in sw.data


def test_token_gives_a_fresh_csrf_token(client, village):
    login(client, "pingyi1")
    r = client.get("/m/token")
    assert r.status_code == 200 and r.get_json()["csrf"]
    assert r.headers["Cache-Control"] == "no-store"
