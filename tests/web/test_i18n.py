"""English as the second UI language: a complete catalogue, the language switch, compilation.

The catalogue test extracts the source strings afresh (as ``pybabel extract -F babel.cfg`` does),
so a new ``_('...')`` without an English translation fails the suite.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from kiosk.i18n import ensure_compiled
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "kiosk" / "translations"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
# N_ marks a msgid rendered later (the rules' reasons); pybabel extract knows it by default, and
# pgettext (a msgid in a context, kiosk.messages.pgettext) too.
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "lazy_gettext": None,
    "N_": None,
    "pgettext": ((1, "c"), 2),
}
# %(name)s / %s (Python) and {name} (page JS, K.format) placeholders.
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w+\}")


def _page(client, url: str, **kwargs) -> str:
    """GET a page's HTML. (The app forgets the previous request's locale by itself, even when a
    test client reuses one app context.)"""
    return client.get(url, **kwargs).get_data(as_text=True)


def _english() -> Catalog:
    with EN_PO.open("rb") as f:
        return read_po(f, locale="en")


def _key(msgid: str, context: str | None) -> str:
    """A msgid as the catalogue keys it: in a context, ``context`` EOT ``msgid`` (as in a .mo)."""
    return f"{context}\x04{msgid}" if context else msgid


@functools.cache
def _fresh_msgids() -> frozenset[str]:
    """Every msgid in the sources today (with its context, :func:`_key`), extracted with the
    project's babel.cfg (once per test process: the walk over the sources takes seconds)."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = set()
    for _filename, _lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.add(_key(message if isinstance(message, str) else message[0], context))
    return frozenset(found)


def test_extraction_finds_the_pages_strings():
    msgids = _fresh_msgids()
    # From a template, from the JSON block of the counter's page script, and from Python.
    assert {
        "登录",
        "确认兑换",
        "本次需要{need}分，可用积分只有{spendable}分，还差{short}分",
    } <= msgids
    assert {"请输入用户名和密码", "加分"} <= msgids
    # A word in a context (kiosk.messages.pgettext) is its own entry beside the bare word.
    assert {"提交", _key("提交", "cannot be …")} <= msgids


def test_every_source_string_has_an_english_translation():
    catalog = _english()
    missing = sorted(_fresh_msgids() - {_key(m.id, m.context) for m in catalog if m.id})
    assert not missing, f"add these to {EN_PO.relative_to(ROOT)}: {missing}"
    untranslated = [m.id for m in catalog if m.id and not m.string]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy: {fuzzy}"


def test_translations_keep_every_placeholder():
    for message in _english():
        if not message.id:
            continue
        assert sorted(PLACEHOLDER.findall(message.string)) == sorted(
            PLACEHOLDER.findall(message.id)
        ), message.id


def test_english_strings_contain_no_chinese():
    han = re.compile(r"[\u4e00-\u9fff]")
    leftovers = [m.id for m in _english() if m.id and han.search(m.string)]
    assert not leftovers


def test_login_page_in_english_and_back(client, supermarket):
    factories.user("keeper1", "keeper", supermarket, pin="1234", display_name="王店长")

    page = _page(client, "/login?lang=en")
    assert '<html lang="en">' in page
    assert "Log in with password" in page and "1. Tap your name" in page
    assert "请点您的名字" not in page
    assert "王店长" in page  # names are data, never translated
    assert ">中文</a>" in page

    # The choice sticks in the session for the next page without ?lang=.
    page = _page(client, "/login?mode=password")
    assert '<html lang="en">' in page
    assert "Username" in page and "Password" in page and "Log in" in page
    assert "用户名" not in page

    page = _page(client, "/login?lang=zh")
    assert '<html lang="zh-CN">' in page
    assert "1. 请点您的名字" in page and "Log in" not in page
    assert ">English</a>" in page
    assert '<html lang="zh-CN">' in _page(client, "/login")


def test_chinese_is_the_default(client, supermarket):
    page = _page(client, "/login")
    assert '<html lang="zh-CN">' in page
    assert "用户名密码登录" in page


def test_language_switch_reloads_the_same_page_with_its_arguments(client, supermarket):
    keeper = factories.user("keeper1", "keeper", supermarket, pin="1234", display_name="王店长")
    page = _page(client, f"/login?mode=pin&keeper={keeper.id}")
    link = re.search(r'<a class="btn btn-light lang-switch"[^>]*href="([^"]+)"', page)
    assert link is not None
    href = link.group(1).replace("&amp;", "&")
    assert href.startswith("/login?")
    assert {"mode=pin", f"keeper={keeper.id}", "lang=en"} <= set(href.split("?", 1)[1].split("&"))
    english = _page(client, href)
    assert "2. 王店长, enter your PIN" in english


def test_python_strings_follow_the_language(client, supermarket):
    _page(client, "/login?lang=en")
    response = client.post("/login/password", data={"username": "", "password": ""})
    assert response.status_code == 400
    assert "Please enter username and password" in response.get_data(as_text=True)


def test_counter_page_in_english(client, keeper):
    client.post("/login/password", data={"username": "keeper1", "password": "secret123"})
    page = _page(client, "/counter?lang=en")
    assert "Please scan a points card" in page
    assert '"confirm": "Redeem"' in page  # the page script's strings, in the JSON block
    assert "请扫描积分卡" not in page


def test_language_survives_logging_in_and_out(client, keeper):
    _page(client, "/login?lang=en")
    client.post("/login/password", data={"username": "keeper1", "password": "secret123"})
    assert "On duty: 王店长" in _page(client, "/counter")
    client.post("/logout")
    assert "Log in with password" in _page(client, "/login")


def _write_po(path: Path, msgstr: str) -> None:
    path.parent.mkdir(parents=True)
    path.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        f'msgid "登录"\nmsgstr "{msgstr}"\n',
        encoding="utf-8",
    )


def _mo_says(mo: Path) -> str:
    with mo.open("rb") as f:
        return read_mo(f).get("登录").string


def test_ensure_compiled_builds_missing_and_stale_catalogues(tmp_path):
    po = tmp_path / "en" / "LC_MESSAGES" / "messages.po"
    mo = po.with_suffix(".mo")
    _write_po(po, "Log in")

    assert ensure_compiled(tmp_path) == [mo]
    assert _mo_says(mo) == "Log in"
    # Up to date: left alone.
    assert ensure_compiled(tmp_path) == []

    po.write_text(po.read_text(encoding="utf-8").replace("Log in", "Sign in"), encoding="utf-8")
    stat = mo.stat()
    os.utime(po, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    assert ensure_compiled(tmp_path) == [mo]
    assert _mo_says(mo) == "Sign in"
    # No temporary files left beside it.
    assert sorted(p.name for p in mo.parent.iterdir()) == ["messages.mo", "messages.po"]


def test_ensure_compiled_leaves_fuzzy_guesses_out(tmp_path):
    po = tmp_path / "en" / "LC_MESSAGES" / "messages.po"
    _write_po(po, "Log in")
    po.write_text(
        po.read_text(encoding="utf-8").replace('msgid "登录"', '#, fuzzy\nmsgid "登录"'),
        encoding="utf-8",
    )
    ensure_compiled(tmp_path)
    with po.with_suffix(".mo").open("rb") as f:
        assert read_mo(f).get("登录") is None
