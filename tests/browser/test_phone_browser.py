"""The phone page in a real browser at 390×844, with Chromium's fake camera playing a video of
a jifen card: scan it, record with a photo, lose the signal, record two more, close the page
and open it again without signal, get the signal back: exactly three proposals arrive, each
once, their photos intact and without the GPS position the phone's camera wrote."""

from __future__ import annotations

import io
import os

import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import Error as PlaywrightError

from kiosk import auth, evidence, standards
from kiosk.extensions import db
from kiosk.models import PointEntry, PointProposal, User
from tests import factories
from tests.browser_support import (
    LiveServer,
    browser,  # noqa: F401  (fixture)
    browser_app,
    new_page,
    out_of_reach,
    seeded,
    shoot,
)
from tests.services.test_phone_evidence import GPS_IFD, gps_jpeg

pytestmark = pytest.mark.browser

PHONE = (390, 844)


def write_y4m(path, frames, fps: int = 10) -> str:
    """Grey 640×480 frames as a Y4M video, for Chromium's fake camera (it loops the file)."""
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W640 H480 F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        chroma = bytes([128]) * (320 * 240)
        for frame in frames:
            out.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)
    return str(path)


@pytest.fixture(scope="module")
def village(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("phone-record")
    app = browser_app(tmp)
    app.instance_path = str(tmp / "instance")
    with seeded(app):
        sm = factories.supermarket()
        standards.seed_standard_items(sm.id, actor=None)
        scanned = factories.household(sm, points=10, number="0301", head_name="张三")
        searched = factories.household(sm, points=10, number="0302", head_name="李四")
        scanned.group_name = searched.group_name = "三组"
        db.session.commit()
        _card, payload = factories.card(scanned)
        factories.user("pingyi1", "recorder", sm, display_name="周评议")
        ids = (scanned.id, searched.id)
    with LiveServer(app) as server:
        yield {"app": app, "url": server.url, "payload": payload, "ids": ids, "tmp": tmp}


@pytest.fixture(scope="module")
def camera_browser(browser, village):  # noqa: F811
    """Chromium whose camera shows the card, over and over."""
    from tests.browser_support import CHROMIUM, CHROMIUM_ARGS
    from tests.scan_images import qr_image, scene

    card = scene(qr_image(village["payload"]))
    video = write_y4m(village["tmp"] / "card.y4m", [card] * 10)
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    b = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=args)
    yield b
    b.close()


def login(page, url: str) -> None:
    page.goto(f"{url}/login?mode=password")
    page.fill("input[name=username]", "pingyi1")
    page.fill("input[name=password]", "secret123")
    page.locator("form.password-form button[type=submit]").click()
    page.wait_for_url(url + "/m/")


def waiting(page, n: int) -> None:
    page.wait_for_function(
        "n => document.getElementById('phone-waiting-count').textContent === String(n)", arg=n
    )


def record(page, *, item: int, photo: bytes | None, search: str | None = None) -> None:
    """One record: the household (already scanned, or searched), a standard item, a photo."""
    if search is not None:
        page.fill("#phone-search", search)
        page.locator("#phone-results button").first.click()
    page.wait_for_selector("#phone-chosen:visible")
    page.select_option("#phone-item", index=item)
    assert page.input_value("#phone-amount") != ""  # prefilled from the standard
    if photo is not None:
        page.set_input_files(
            "#phone-photos", files=[{"name": "p.jpg", "mimeType": "image/jpeg", "buffer": photo}]
        )
        page.wait_for_selector("#phone-thumbs img")
    page.fill("#phone-reason", "")
    page.locator("#phone-save").click()


def test_three_records_arrive_once_through_a_lost_signal_and_a_closed_page(camera_browser, village):
    url = village["url"]
    page = new_page(camera_browser, PHONE)
    context = page.context
    login(page, url)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    # The household list is kept for the lanes without signal.
    page.wait_for_function("() => localStorage.getItem('jifen-phone-households') !== null")

    page.locator("#phone-scan").click()
    page.wait_for_selector("#phone-chosen:visible")
    assert "0301 张三" in page.inner_text("#phone-chosen-text")
    assert page.input_value("#phone-place") == "三组"
    record(page, item=1, photo=gps_jpeg(size=(2400, 1800)))
    waiting(page, 0)
    page.wait_for_function("() => document.getElementById('phone-sent').textContent.includes('1')")
    shoot(page, "phone-record-online")

    context.set_offline(True)
    page.wait_for_selector(".phone-offline")
    record(page, item=2, photo=gps_jpeg(colour=(10, 20, 200)), search="0302")
    waiting(page, 1)
    record(page, item=3, photo=None, search="ls")  # 李四 by the initials of his pinyin
    waiting(page, 2)
    shoot(page, "phone-record-offline")
    errors = page.js_errors
    page.close()

    # Opened again, still without signal: the page comes from the phone, the records too.
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url + "/m/")
    waiting(page, 2)
    assert page.evaluate("() => navigator.serviceWorker.controller !== null")
    assert page.locator(".phone-offline").is_visible()
    with seeded(village["app"]):
        assert db.session.scalar(sa.select(sa.func.count(PointProposal.id))) == 1

    context.set_offline(False)
    waiting(page, 0)
    page.wait_for_function("() => document.getElementById('phone-sent').textContent.includes('2')")
    context.close()

    with seeded(village["app"]):
        rows = db.session.scalars(sa.select(PointProposal).order_by(PointProposal.id)).all()
        assert len(rows) == 3
        scanned, searched = village["ids"]
        assert [r.household_id for r in rows] == [scanned, searched, searched]
        assert all(r.status == "pending" and r.place == "三组" for r in rows)
        assert all(r.occurred_at is not None for r in rows)
        assert [len(r.photos) for r in rows] == [1, 1, 0]
        assert (rows[0].photos[0].width, rows[0].photos[0].height) == (1600, 1200)
        for row in rows[:2]:
            path = os.path.join(
                village["app"].instance_path,
                *evidence.FOLDER,
                row.photos[0].sha256[:2],
                row.photos[0].sha256 + ".jpg",
            )
            with Image.open(path) as image:
                image.load()
                assert not image.getexif().get_ifd(GPS_IFD)
            with open(path, "rb") as fh:
                assert evidence.hashlib.sha256(fh.read()).hexdigest() == row.photos[0].sha256
        # Nothing counts before a second admin signs.
        assert db.session.scalar(sa.select(sa.func.count(PointEntry.id))) == 2  # opening points
    assert errors == []


KEPT_PAGE = "async () => !!(await caches.match('/m/'))"
OUTBOX = """() => new Promise((resolve, reject) => {
  const req = indexedDB.open('jifen-phone', 1);
  req.onupgradeneeded = () => req.result.createObjectStore('outbox', { keyPath: 'key' });
  req.onerror = () => reject(req.error);
  req.onsuccess = () => {
    const t = req.result.transaction('outbox', 'readonly');
    const all = t.objectStore('outbox').getAllKeys();
    t.oncomplete = () => resolve(all.result);
  };
})"""
FOREIGN_RECORD = """() => new Promise((resolve, reject) => {
  const req = indexedDB.open('jifen-phone', 1);
  req.onerror = () => reject(req.error);
  req.onsuccess = () => {
    const t = req.result.transaction('outbox', 'readwrite');
    t.objectStore('outbox').put({key: 'kept-1', userId: -1, created: '2026-01-01T00:00:00',
      label: '0301', points: 1, body: {amount: 1}, photos: [], error: null});
    t.oncomplete = () => resolve(true);
  };
})"""


def signed_in_offline(page, url: str) -> str:
    """Sign in with signal, see the page kept; its CSRF token (the secret a kept page holds)."""
    login(page, url)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function(KEPT_PAGE)
    token = page.get_attribute("meta[name=csrf-token]", "content")
    assert token
    # Without signal the phone opens the recorder's page from its cache.
    page.context.set_offline(True)
    other = page.context.new_page()
    other.goto(url + "/m/")
    assert "周评议" in other.inner_text(".phone-who")
    assert other.locator(".phone-offline").is_visible()
    other.close()
    page.context.set_offline(False)
    return token


def opened_offline(context, url: str) -> str:
    """What /m/ shows without signal: the page's HTML, or '' for the browser's network error."""
    context.set_offline(True)
    page = context.new_page()
    try:
        page.goto(url + "/m/")
    except PlaywrightError:
        return ""  # the worker had no page to give: Chromium's offline error
    finally:
        context.set_offline(False)
    html = page.content()
    page.close()
    return html


def test_logout_drops_the_kept_page_but_not_the_assets_or_unsent_records(browser, village):  # noqa: F811
    url = village["url"]
    page = new_page(browser, PHONE)
    token = signed_in_offline(page, url)
    page.evaluate(FOREIGN_RECORD)  # another recorder's, not yet sent from this shared phone
    page.wait_for_function("() => localStorage.getItem('jifen-phone-households') !== null")
    page.locator("#logout").click()
    page.wait_for_url(f"{url}/login**")
    # The village's household list (numbers and head names) leaves with the recorder.
    assert page.evaluate("() => localStorage.getItem('jifen-phone-households')") is None

    html = opened_offline(page.context, url)
    assert "周评议" not in html and token not in html
    # The assets stay kept, and the unsent record is still on the phone.
    assert page.evaluate(KEPT_PAGE) is False
    assert page.evaluate("async () => !!(await caches.match('/static/js/phone.js'))")
    assert page.evaluate(OUTBOX) == ["kept-1"]
    page.context.close()
    assert page.js_errors == []


def test_an_open_with_signal_that_finds_no_session_drops_the_kept_page(browser, village):  # noqa: F811
    """Logged out elsewhere (every session of the user ends): the next open with signal goes
    to the login page, and the phone no longer opens the recorder's page without signal."""
    url = village["url"]
    page = new_page(browser, PHONE)
    token = signed_in_offline(page, url)
    with seeded(village["app"]):
        user = db.session.scalar(sa.select(User).where(User.username == "pingyi1"))
        assert user is not None
        auth.end_sessions(user.id)
    page.goto(url + "/m/")
    page.wait_for_url(f"{url}/login**")
    page.wait_for_function("async () => !(await caches.match('/m/'))")

    html = opened_offline(page.context, url)
    assert "周评议" not in html and token not in html
    page.context.close()
    assert page.js_errors == []


@pytest.mark.parametrize("size", [(360, 740), (414, 896)])
def test_phone_page_fits_one_hand(browser, village, size):  # noqa: F811
    page = new_page(browser, size)
    login(page, village["url"])
    assert out_of_reach(page) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shoot(page, "phone-record")
    page.context.close()
    assert page.js_errors == []


def test_the_photo_fixture_really_has_gps():
    with Image.open(io.BytesIO(gps_jpeg())) as image:
        assert image.getexif().get_ifd(GPS_IFD)
