"""A published notice's chart in the reader's language (issue 20), on both databases.

A notice freezes its chart's words in Chinese (hashed; objections refer to them) and, beside
them, what each bar stands for (``distribution["terms"]``): the office's page, the A4 page and
the large screen say the bars in the page's language, a tier's name through ``rule_term`` (a
village's own as written). In Chinese the chart reads exactly as the stored words; a notice
stored before the terms were kept shows its stored words; the language of whoever published a
notice changes nothing in it. The village here is named in Latin letters, so any Chinese
character on an English page is a word that bypassed the catalogue.
"""

from __future__ import annotations

import copy
import dataclasses
import re

import pytest
from flask import g

from kiosk import assessments, clock, notice, points, rules
from kiosk.database import write_transaction
from kiosk.extensions import db
from kiosk.models import Notice, Supermarket
from kiosk.reports.notice import chart_title
from kiosk.rules import Tier, presets
from kiosk.web.notice import chart_svg
from tests import factories

# Han characters and the full-width punctuation that comes with them (as test_english_refusals).
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")

# A village's own tier names are its words, shown as written in every language.
OWN_TIERS = (Tier("红旗户", 0, 99), Tier("Gold", 100, 999_999))
CUSTOM = dataclasses.replace(
    presets.YANGTING, name="East Village pyramid", preset=None, tiers=OWN_TIERS
)

# The chart's words (its SVG's text, in order) per rule set: households at 120, -3 and 350
# points; under 寨里 the first family's members scored 95 and 60 (77.5: three stars), the other
# two have no score.
CHARTS = {
    "datong": (
        [
            *("Below 0 pts", "1 households", "0–99 pts", "0 households"),
            *("100–199 pts", "1 households", "200–299 pts", "0 households"),
            *("300–399 pts", "1 households"),
        ],
        [
            *("0分以下", "1户", "0–99分", "0户", "100–199分", "1户"),
            *("200–299分", "0户", "300–399分", "1户"),
        ],
    ),
    "zhaili": (
        [
            *("Below 70 pts", "0 households", "★★★ Three-star", "1 households"),
            *("★★★★ Four-star", "0 households", "★★★★★ Five-star", "0 households"),
            *("Not scored", "2 households"),
        ],
        [
            *("70分以下", "0户", "★★★ 三星级", "1户", "★★★★ 四星级", "0户"),
            *("★★★★★ 五星级", "0户", "未评分", "2户"),
        ],
    ),
    "yangting": (
        [
            *("Pyramid top", "300 pts and up", "1 households"),
            *("Pyramid middle", "100–299 pts", "1 households"),
            *("Pyramid base", "0–99 pts", "0 households"),
            *("Below 0 pts", "1 households"),
        ],
        [
            *("塔尖", "300分以上", "1户", "塔身", "100–299分", "1户"),
            *("塔基", "0–99分", "0户", "0分以下", "1户"),
        ],
    ),
    "own": (
        [
            *("Gold", "100 pts and up", "2 households"),
            *("红旗户", "0–99 pts", "0 households"),
            *("Below 0 pts", "1 households"),
        ],
        [
            *("Gold", "100分以上", "2户", "红旗户", "0–99分", "0户"),
            *("0分以下", "1户"),
        ],
    ),
}


@pytest.fixture
def village(app):
    """A supermarket, its admin and three households named in Latin letters."""
    with write_transaction():
        sm = Supermarket(
            code="EN01", name="East Village Shop", town="Hilltown", village="East Village"
        )
        db.session.add(sm)
    admin = factories.user("admin1", "admin", sm, display_name="Li")
    first = factories.household(
        sm, number="E01", head_name="Zhang San", members=["Zhang San", "Li Si"], points=120
    )
    second = factories.household(sm, number="E02", head_name="Wang Wu")
    points.deduct_points(second.id, 3, reason="late", actor=None)
    factories.household(sm, number="E03", head_name="Zhao Liu", points=350)
    return {"sm": sm, "admin": admin, "first": first}


def this_quarter() -> str:
    return rules.period_key(clock.local_now().date(), rules.PERIOD_QUARTER)


def publish(village, rule_set: str) -> Notice:
    """The village's notice of this quarter under ``rule_set``, published."""
    sm, admin = village["sm"], village["admin"]
    factories.policy(sm, CUSTOM if rule_set == "own" else rule_set)
    if rule_set == "zhaili":
        first = village["first"]
        for member, score in zip(first.members, (95, 60), strict=True):
            assessments.record_assessment(
                first.id, this_quarter(), score, member_id=member.id, actor=admin
            )
    draft = notice.draft_notice(sm.id, this_quarter(), actor=admin)
    return notice.publish_notice(draft.id, actor=admin)


def login(client) -> None:
    r = client.post("/login/password", data={"username": "admin1", "password": "secret123"})
    assert r.status_code == 302


def page(client, url: str, lang: str) -> str:
    response = client.get(f"{url}?lang={lang}")
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def chart_of(html: str) -> str:
    found = re.search(r'<svg class="notice-chart.*?</svg>', html, flags=re.S)
    assert found, "the page has its chart"
    return found.group(0)


def chart_words(html: str) -> list[str]:
    """The chart's text as read, in order."""
    return [w.strip() for w in re.findall(r">([^<>]+)<", chart_of(html)) if w.strip()]


def chinese_in(html: str, own: tuple[str, ...] = ()) -> list[str]:
    """Chinese characters a person reads on the page, but the language switch's 中文 and the
    village's own words."""
    html = re.sub(r"<!--.*?-->", "", html, flags=re.S).replace(">中文</a>", "></a>")
    for word in own:
        html = html.replace(word, "")
    return [html[max(0, m.start() - 30) : m.end() + 20] for m in CJK.finditer(html)]


def stored_words_only(content: dict) -> dict:
    """The content as a notice published before the bars' terms were kept would hold it."""
    old = copy.deepcopy(content)
    del old["distribution"]["terms"]
    return old


@pytest.mark.parametrize("rule_set", list(CHARTS))
def test_the_chart_says_its_bars_in_the_pages_language(client, village, rule_set):
    n = publish(village, rule_set)
    english, chinese = CHARTS[rule_set]
    login(client)
    own = tuple(t.name for t in OWN_TIERS) if rule_set == "own" else ()
    for url in (f"/notice/{n.id}", f"/notice/{n.id}/print", "/notice/screen"):
        en = page(client, url, "en")
        assert chart_words(en) == english, url
        assert not chinese_in(en, own), url
        zh = page(client, url, "zh")
        assert chart_words(zh) == chinese, url
    # In Chinese the chart is drawn exactly as from the stored words alone (as before).
    with client.application.test_request_context("/?lang=zh"):
        g.pop("_flask_babel", None)
        old = stored_words_only(n.content)
        before = chart_svg(old["distribution"], title=chart_title(old))
    assert chart_of(page(client, f"/notice/{n.id}", "zh")) == str(before)


@pytest.mark.parametrize("rule_set", ["datong", "yangting"])
def test_a_notice_stored_without_its_bars_terms_shows_its_stored_words(client, village, rule_set):
    n = publish(village, rule_set)
    with write_transaction():
        old = db.session.get(Notice, n.id)
        old.content = stored_words_only(old.content)
        old.content_hash = notice.content_hash(old.content)
    db.session.expire_all()
    assert notice.verify(db.session.get(Notice, n.id))
    login(client)
    chinese = CHARTS[rule_set][1]
    for url in (f"/notice/{n.id}", f"/notice/{n.id}/print", "/notice/screen"):
        assert chart_words(page(client, url, "zh")) == chinese, url
        # In English its bars keep the words it was published with; only the counts follow.
        en = [w.replace("户", " households") for w in chinese]
        assert chart_words(page(client, url, "en")) == en, url


@pytest.mark.parametrize("rule_set", ["datong", "zhaili", "yangting"])
def test_the_publishers_language_changes_nothing_in_the_notice(client, village, rule_set):
    sm = village["sm"]
    n = publish(village, rule_set)  # outside a request: in Chinese
    login(client)
    hashes = {}
    for lang in ("en", "zh"):
        r = client.post(f"/notice/draft?lang={lang}", data={"period": this_quarter()})
        assert r.status_code == 302
        draft_id = int(r.headers["Location"].rsplit("/", 1)[-1])
        r = client.post(f"/notice/{draft_id}/publish?lang={lang}", data={"note": f"again {lang}"})
        assert r.status_code == 302
        db.session.expire_all()
        published = notice.published(sm.id, this_quarter())
        assert published.id == draft_id
        hashes[lang] = published.content_hash
        assert published.content == n.content
    assert hashes == {"en": n.content_hash, "zh": n.content_hash}
