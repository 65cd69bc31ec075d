"""The printer endpoints: the configured printer and its state (preview online, a closed port
offline, a printer that says paper out), the test page, and the unprinted jobs listed with their
receipt numbers and resent against a local TCP listener once the printer is back."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kiosk.extensions import db
from kiosk.models import AuditEvent, PointAccount, PrintJob, Redemption
from kiosk.redemption import CartLine, redeem
from tests import factories
from tests.api.test_api_auth import log_in
from tests.api.test_api_helpers import (
    api_for,
    as_admin_fixture,
    as_keeper_fixture,
    as_supervisor_fixture,
    check_schema,
    error_code,
)
from tests.hardware.test_printer_status import PAPER_OUT, StatusPrinter
from tests.hardware.test_printing import FakeNetworkPrinter

__all__ = ["as_admin_fixture", "as_keeper_fixture", "as_supervisor_fixture"]


@pytest.fixture
def net_printer():
    """A port-9100 printer on 127.0.0.1: bound but refusing until ``start()``."""
    fake = FakeNetworkPrinter()
    yield fake
    fake.stop()


def _failed_receipt(supermarket, keeper, key: str = "printer-api-01") -> Redemption:
    """A redemption whose receipt did not print (the printer refused the connection)."""
    hh = factories.household(supermarket, points=100, head_name="张三丰")
    _, payload = factories.card(hh)
    rice = factories.product(supermarket, name="大米", cost_fen=1000, stock_qty=5)
    return redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(rice.id, 1)],
        keeper=keeper,
        idempotency_key=key,
    )


def _jobs() -> list[PrintJob]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(PrintJob).order_by(PrintJob.id)))


def test_preview_printer_is_online(as_keeper):
    r = as_keeper.get("/api/v1/printer")
    assert r.status_code == 200
    data = r.get_json()
    check_schema(data, "PrinterState")
    assert data == {
        "printer": {
            "type": "preview",
            "paper_mm": 80,
            "mode": "text",
            "profile": None,
            "described": "preview",
        },
        "status": "online",
    }


def test_network_printer_on_a_closed_port_is_offline(app, as_supervisor, net_printer):
    app.config["JIFEN_PRINTER"] = net_printer.config(profile="POS-5890", mode="raster")
    r = as_supervisor.get("/api/v1/printer")
    assert r.status_code == 200
    data = r.get_json()
    check_schema(data, "PrinterState")
    assert data["status"] == "offline"
    assert data["printer"] == {
        "type": "network",
        "paper_mm": 58,
        "mode": "raster",
        "profile": "POS-5890",
        "described": f"network 127.0.0.1:{net_printer.port}",
    }


def test_printer_that_says_paper_out(app, as_keeper):
    fake = StatusPrinter(PAPER_OUT)
    try:
        app.config["JIFEN_PRINTER"] = fake.config()
        r = as_keeper.get("/api/v1/printer")
    finally:
        fake.stop()
    assert r.get_json()["status"] == "paper_out"


def test_test_page_is_saved_and_printed(as_keeper, keeper):
    r = as_keeper.post("/api/v1/printer/test-page")
    assert r.status_code == 201
    data = r.get_json()
    check_schema(data, "PrintJobResult")
    job = data["job"]
    assert (job["kind"], job["status"], job["receipt_no"]) == ("test_page", "printed", None)
    assert "打印测试" in job["text"]
    (row,) = _jobs()
    assert (row.id, row.kind, row.requested_by_id) == (job["id"], "test_page", keeper.id)


def test_test_page_on_a_dead_printer_is_a_failed_job_not_an_error(app, as_admin, net_printer):
    app.config["JIFEN_PRINTER"] = net_printer.config()
    r = as_admin.post("/api/v1/printer/test-page")
    assert r.status_code == 201
    job = r.get_json()["job"]
    assert job["status"] == "failed"
    assert "127.0.0.1" in job["last_error"]
    listed = as_admin.get("/api/v1/print-jobs").get_json()["jobs"]
    assert [j["id"] for j in listed] == [job["id"]]


def test_failed_receipt_is_listed_then_retried_when_the_printer_is_back(
    app, supermarket, keeper, as_keeper, net_printer
):
    app.config["JIFEN_PRINTER"] = net_printer.config()  # refused: the receipt fails
    red = _failed_receipt(supermarket, keeper)
    balance = db.session.scalar(sa.select(PointAccount.balance))

    r = as_keeper.get("/api/v1/print-jobs")
    assert r.status_code == 200
    check_schema(r.get_json(), "PrintJobList")
    (listed,) = r.get_json()["jobs"]
    assert listed["receipt_no"] == red.receipt_no == "DT01-00000001"
    assert (listed["kind"], listed["status"], listed["attempts"]) == ("receipt", "failed", 1)
    assert listed["redemption_id"] == red.id
    assert listed["last_error"]
    assert [
        j["id"] for j in as_keeper.get("/api/v1/print-jobs?status=failed").get_json()["jobs"]
    ] == [listed["id"]]
    assert as_keeper.get("/api/v1/print-jobs?status=queued").get_json()["jobs"] == []

    # Still down: tried again, still failed, still listed.
    r = as_keeper.post("/api/v1/print-jobs/retry")
    assert r.status_code == 200
    check_schema(r.get_json(), "RetryResult")
    (again,) = r.get_json()["sent"]
    assert (again["status"], again["attempts"], r.get_json()["remaining"]) == ("failed", 2, 1)

    net_printer.start()
    r = as_keeper.post("/api/v1/print-jobs/retry")
    assert r.status_code == 200
    (sent,) = r.get_json()["sent"]
    assert (sent["id"], sent["status"], sent["receipt_no"]) == (
        listed["id"],
        "printed",
        red.receipt_no,
    )
    assert r.get_json()["remaining"] == 0
    (job,) = _jobs()
    assert net_printer.jobs == [job.payload]
    assert as_keeper.get("/api/v1/print-jobs").get_json()["jobs"] == []
    # Nothing left to send: a second tap prints nothing twice.
    assert as_keeper.post("/api/v1/print-jobs/retry").get_json() == {"sent": [], "remaining": 0}
    assert len(net_printer.jobs) == 1
    # The redemption is neither undone nor repeated by any of this.
    db.session.expire_all()
    assert db.session.scalar(sa.select(PointAccount.balance)) == balance
    assert db.session.scalar(sa.select(sa.func.count(Redemption.id))) == 1


def test_unknown_status_filter_is_refused(as_keeper):
    r = as_keeper.get("/api/v1/print-jobs?status=printed")
    assert r.status_code == 400
    assert error_code(r) == "invalid_request"


def test_jobs_of_another_supermarket_are_not_listed(app, client, supermarket, keeper, net_printer):
    app.config["JIFEN_PRINTER"] = net_printer.config()
    _failed_receipt(supermarket, keeper)
    other_sm = factories.supermarket(code="ZL01", name="寨里积分超市")
    other_keeper = factories.user("keeper9", "keeper", other_sm)
    api = api_for(client, other_keeper)
    assert api.get("/api/v1/print-jobs").get_json()["jobs"] == []
    assert api.post("/api/v1/print-jobs/retry").get_json() == {"sent": [], "remaining": 0}
    (job,) = _jobs()
    assert (job.status, job.attempts) == ("failed", 1)


@pytest.mark.parametrize("url", ["/api/v1/printer/test-page", "/api/v1/print-jobs/retry"])
def test_supervisors_may_not_print(as_supervisor, url):
    before = (len(_jobs()), db.session.scalar(sa.select(sa.func.count(AuditEvent.id))))
    r = as_supervisor.post(url)
    assert r.status_code == 403
    assert error_code(r) == "forbidden"
    assert (len(_jobs()), db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))) == before


@pytest.mark.parametrize("url", ["/api/v1/printer", "/api/v1/print-jobs"])
def test_reads_need_a_login(client, supermarket, url):
    r = client.get(url)
    assert r.status_code == 401
    assert error_code(r) == "unauthorized"


def test_session_writes_need_the_csrf_header(app, client, keeper):
    app.config["WTF_CSRF_ENABLED"] = True
    token = log_in(app, client, keeper)
    for url in ("/api/v1/printer/test-page", "/api/v1/print-jobs/retry"):
        r = client.post(url, json={})
        assert r.status_code == 400
        assert error_code(r) == "csrf_failed"
    assert _jobs() == []
    r = client.post("/api/v1/printer/test-page", json={}, headers={"X-CSRFToken": token})
    assert r.status_code == 201
    assert client.get("/api/v1/printer").get_json()["status"] == "online"  # reads need no header
