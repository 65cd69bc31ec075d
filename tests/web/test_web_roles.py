"""Every office page and action × every role: who may open it and who may write through it.

The specification below covers every route of the office blueprints (a new route without a
line here fails ``test_every_office_route_is_specified``). Keepers work the counter and the
stock; admins (the village committee) run households, points, rules and users; supervisors
(监督小组) read everything and write nothing but their sign-off on a stocktake. Recorders (评议员,
the assessment group's phone) open no office page at all: they record on /m only.
"""

from __future__ import annotations

import re

import pytest

from tests import factories

K, A, S = "keeper", "admin", "supervisor"
R = "recorder"
ALL = {K, A, S}
OFFICE = {A, S}

# endpoint: roles allowed (reads: may open; writes: may post). Anyone else gets 403.
SPEC: dict[str, set[str]] = {
    # rule-set administration
    "admin.index": OFFICE,
    "admin.policy_page": OFFICE,
    "admin.preview_page": OFFICE,
    "admin.assessments_page": OFFICE,
    "admin.vetoes_page": OFFICE,
    "admin.printer_page": ALL,
    # products' rule-linked settings (the restricted 长者食堂 meal, services)
    "admin.products_page": OFFICE,
    "admin.product_page": OFFICE,
    "admin.save_product": {A},
    # audit log, closing slip
    "audit.index_page": OFFICE,
    "audit.export": OFFICE,
    "audit.closing_page": ALL,
    "audit.print_closing_slip": {K, A},
    # users
    "users.index_page": OFFICE,
    "users.create": {A},
    "users.issue_token": {A},
    "users.reset_password": {A},
    "users.reset_pin": {A},
    "users.revoke_token": {A},
    "users.set_active": {A},
    "users.set_role": {A},
    "users.unlock": {A},
    # households and cards
    "households.index_page": OFFICE,
    "households.results_fragment": OFFICE,
    "households.detail_page": OFFICE,
    "households.new_page": {A},
    "households.edit_page": {A},
    "households.new_member_page": {A},
    "households.edit_member_page": {A},
    "households.create": {A},
    "households.update": {A},
    "households.add_member": {A},
    "households.update_member": {A},
    "households.set_status": {A},
    "households.set_member_status": {A},
    "households.issue_card": {A},
    "households.revoke_card": {A},
    "households.print_card": {A},
    "households.card_pdf": {A},
    "households.village_pdf": {A},
    # points intake and import
    "intake.index_page": OFFICE,
    "intake.standards_page": OFFICE,
    "intake.import_page": OFFICE,
    "intake.batch_page": OFFICE,
    "intake.batch_errors": OFFICE,
    "intake.export_proposals": OFFICE,
    "intake.export_standards": OFFICE,
    "intake.template": OFFICE,
    "intake.propose": {A},
    "intake.approve": {A},
    "intake.reject": {A},
    "intake.withdraw": {A},
    "intake.approve_batch": {A},
    "intake.decide_many": {A},
    "intake.upload": {A},
    "intake.commit": {A},
    "intake.create_standard": {A},
    "intake.update_standard": {A},
    "intake.seed_standards": {A},
    # public notice and objections
    "notice.index_page": OFFICE,
    "notice.notice_page": OFFICE,
    "notice.print_page": OFFICE,
    "notice.xlsx": OFFICE,
    "notice.objections_page": OFFICE,
    "notice.objection_page": OFFICE,
    "notice.objection_new": {A},
    "notice.draft": {A},
    "notice.publish": {A},
    "notice.discard": {A},
    "notice.objection_create": {A},
    "notice.objection_resolve": {A},
    # stock
    "stock.stock_in_page": ALL,
    "stock.stock_in_document": ALL,
    "stock.adjustments_page": ALL,
    "stock.ledgers_page": ALL,
    "stock.ledgers_export": ALL,
    "stock.stock_in_submit": {K, A},
    "stock.new_product": {K, A},
    "stock.stock_in_print": {K, A},
    "stock.adjustment_request": {K, A},
    "stock.adjustment_decide": {A},
    # donations and the fund pool
    "fund.index_page": ALL,
    "fund.donations_page": ALL,
    "fund.donation_page": ALL,
    "fund.donors_page": ALL,
    "fund.donor_page": ALL,
    "fund.ledger_page": ALL,
    "fund.public_page": ALL,
    "fund.donations_xlsx": ALL,
    "fund.ledger_xlsx": ALL,
    "fund.public_xlsx": ALL,
    "fund.new_donation_page": {K, A},
    "fund.create_donation": {K, A},
    "fund.create_donor": {K, A},
    "fund.print_receipt": {K, A},
    "fund.update_donor": {A},
    "fund.reverse": {A},
    "fund.set_advance_limit": {A},
    # stocktake
    "stocktake.index_page": ALL,
    "stocktake.report_page": ALL,
    "stocktake.report_xlsx": ALL,
    "stocktake.lines_json": {K, A},
    "stocktake.count_page": {K, A},
    "stocktake.start_page": {K, A},
    "stocktake.start": {K, A},
    "stocktake.scan": {K, A},
    "stocktake.frame": {K, A},
    "stocktake.submit": {K, A},
    "stocktake.approve": {A},
    "stocktake.send_back": {A},
    "stocktake.cancel": {A},
    "stocktake.sign_off": {S},
    # month-end
    "monthend.index_page": ALL,
    "monthend.report_page": ALL,
    "monthend.report_xlsx": ALL,
    "monthend.print_page": ALL,
    "monthend.print_slip": {K, A},
    "monthend.close_action": {A},
}
OFFICE_BLUEPRINTS = {
    "admin",
    "audit",
    "users",
    "households",
    "intake",
    "notice",
    "stock",
    "fund",
    "stocktake",
    "monthend",
}
# Pages that need no login: the village hall's screen shows the published notice only.
PUBLIC = {"notice.screen_page"}
ARGS = {"month": "2026-01", "kind": "households", "decision": "approve"}


def _rules(app):
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in OFFICE_BLUEPRINTS or rule.endpoint in PUBLIC:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            values = {}
            for name in rule.arguments:
                values[name] = ARGS.get(name, 999999)
            url = rule.rule
            for name, value in values.items():
                url = re.sub(rf"<[^>]*\b{name}>", str(value), url)
            out.append((rule.endpoint, method, url))
    return sorted(out)


def _app_rules():
    from kiosk import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x", "TESTING": True})
    return _rules(app)


ROUTES = _app_rules()


def test_every_office_route_is_specified():
    endpoints = {endpoint for endpoint, _method, _url in ROUTES}
    assert endpoints - set(SPEC) == set(), "add these routes to SPEC"
    assert set(SPEC) - endpoints == set(), "SPEC names routes that do not exist"


def login(client, username: str) -> None:
    client.post("/logout")
    r = client.post("/login/password", data={"username": username, "password": "secret123"})
    assert r.status_code == 302, r.get_data(as_text=True)


@pytest.mark.parametrize(("endpoint", "method", "url"), ROUTES, ids=[r[0] for r in ROUTES])
def test_route_by_role(app, client, supermarket, endpoint, method, url):
    factories.user("keeper1", K, supermarket, pin="1234")
    factories.user("admin1", A, supermarket)
    factories.user("super1", S, supermarket)
    factories.user("recorder1", R, supermarket)
    # A visitor is sent to the login page (pages) or refused (actions).
    r = client.open(url, method=method)
    assert r.status_code in (302, 401), (endpoint, r.status_code)
    if r.status_code == 302:
        assert "/login" in r.headers["Location"]
    for username, role in (("keeper1", K), ("admin1", A), ("super1", S), ("recorder1", R)):
        login(client, username)
        r = client.open(url, method=method, data={})
        allowed = role in SPEC[endpoint]
        if allowed:
            # The role gets through to the view (which may still find nothing to show).
            assert r.status_code != 403, (endpoint, role)
            assert r.status_code < 500, (endpoint, role, r.status_code)
        else:
            assert r.status_code == 403, (endpoint, role, r.status_code)


def test_supervisors_write_nothing_but_their_sign_off():
    writes = {
        endpoint for endpoint, method, _ in ROUTES if method == "POST" and S in SPEC[endpoint]
    }
    assert writes == {"stocktake.sign_off"}


def test_keepers_cannot_award_points_change_policy_or_manage_people():
    keeper_writes = {
        endpoint for endpoint, method, _ in ROUTES if method == "POST" and K in SPEC[endpoint]
    }
    for area in ("intake.", "households.", "users.", "notice.", "admin."):
        assert not any(e.startswith(area) for e in keeper_writes), area
