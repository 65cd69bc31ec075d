"""The kiosk's printer settings (instance/printer.json): every connection type saved, loaded and
used by the print path; every bad field refused with its Chinese message and nothing written;
only admins may change them, through the service and ``PUT /api/v1/printer``."""

from __future__ import annotations

import json
import os

import pytest
import sqlalchemy as sa

from kiosk import printer_settings, printing
from kiosk.errors import ValidationFailed
from kiosk.extensions import db
from kiosk.models import AuditEvent
from tests.api.test_api_helpers import (
    as_admin_fixture,
    as_keeper_fixture,
    as_supervisor_fixture,
    check_schema,
    error_code,
)
from tests.escpos_decode import decode
from tests.hardware.test_printing import FakeNetworkPrinter

__all__ = ["as_admin_fixture", "as_keeper_fixture", "as_supervisor_fixture"]

VALID = [
    (
        {"type": "preview", "paper_mm": 58},
        {"type": "preview", "paper_mm": 58, "mode": "text", "profile": ""},
    ),
    (
        {"type": "usb", "vendor_id": "0x0416", "product_id": 20497, "mode": "raster"},
        {
            "type": "usb",
            "vendor_id": "0x0416",
            "product_id": "0x5011",
            "paper_mm": 80,
            "mode": "raster",
            "profile": "",
        },
    ),
    (
        {"type": "serial", "device": "/dev/ttyUSB0", "baudrate": "19200", "profile": "POS-5890"},
        {
            "type": "serial",
            "device": "/dev/ttyUSB0",
            "baudrate": 19200,
            "paper_mm": 80,
            "mode": "text",
            "profile": "POS-5890",
        },
    ),
    (
        {"type": "network", "host": "192.168.1.100", "port": 9100, "native_qr": False},
        {
            "type": "network",
            "host": "192.168.1.100",
            "port": 9100,
            "paper_mm": 80,
            "mode": "text",
            "profile": "",
            "native_qr": False,
        },
    ),
    (
        {"type": "file", "device": "/dev/usb/lp0", "paper_mm": "80", "native_qr": True},
        {
            "type": "file",
            "device": "/dev/usb/lp0",
            "paper_mm": 80,
            "mode": "text",
            "profile": "",
            "native_qr": True,
        },
    ),
    (
        {"type": "cups", "name": "XP-58", "profile": "TM-T20II"},
        {"type": "cups", "name": "XP-58", "paper_mm": 80, "mode": "text", "profile": "TM-T20II"},
    ),
]

INVALID = [
    ({"type": "bluetooth"}, "type", "打印机类型只能是"),
    ({}, "type", "打印机类型只能是"),
    ({"type": "usb", "product_id": "0x5011"}, "vendor_id", "厂商号必须填写"),
    ({"type": "usb", "vendor_id": "0x0416"}, "product_id", "产品号必须填写"),
    ({"type": "usb", "vendor_id": "xyz", "product_id": "1"}, "vendor_id", "厂商号必须是十六进制数"),
    ({"type": "usb", "vendor_id": 70000, "product_id": 1}, "vendor_id", "厂商号必须在"),
    ({"type": "serial", "baudrate": 9600}, "device", "设备路径必须填写"),
    ({"type": "serial", "device": "ttyUSB0", "baudrate": 9600}, "device", "设备路径必须是以 /"),
    ({"type": "serial", "device": "/dev/ttyS0", "baudrate": 1234}, "baudrate", "波特率只能是"),
    (
        {"type": "serial", "device": "/dev/ttyS0", "baudrate": "fast"},
        "baudrate",
        "波特率必须是整数",
    ),
    ({"type": "network", "port": 9100}, "host", "打印机地址必须填写"),
    ({"type": "network", "host": "a b", "port": 9100}, "host", "打印机地址必须是IP地址或主机名"),
    ({"type": "network", "host": "10.0.0.9", "port": 0}, "port", "端口必须在1到65535之间"),
    ({"type": "network", "host": "10.0.0.9", "port": 70000}, "port", "端口必须在1到65535之间"),
    ({"type": "network", "host": "10.0.0.9", "port": "x"}, "port", "端口必须是整数"),
    ({"type": "network", "host": "10.0.0.9"}, "port", "端口必须填写"),
    ({"type": "file"}, "device", "设备路径必须填写"),
    ({"type": "cups", "name": ""}, "name", "打印机名称必须填写"),
    ({"type": "cups", "name": "a/b"}, "name", "打印机名称不能含"),
    ({"type": "preview", "paper_mm": 76}, "paper_mm", "纸宽只能是58或80毫米"),
    ({"type": "preview", "paper_mm": True}, "paper_mm", "纸宽只能是58或80毫米"),
    ({"type": "preview", "mode": "pdf"}, "mode", "打印模式只能是"),
    ({"type": "preview", "profile": "NoSuchPrinter"}, "profile", "打印机型号不是 python-escpos"),
    ({"type": "preview", "native_qr": "yes"}, "native_qr", "原生二维码必须是 true 或 false"),
    ({"type": "preview", "host": "10.0.0.9"}, "host", "不是preview打印机的设置项"),
]


def _audits() -> list[AuditEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "printer.settings"))
    )


@pytest.mark.parametrize(("given", "saved"), VALID, ids=[v[0]["type"] for v in VALID])
def test_valid_settings_for_each_type_are_saved_and_loaded(app, admin, given, saved):
    assert printer_settings.save(given, actor=admin) == saved
    path = printer_settings.settings_path()
    with open(path, encoding="utf-8") as f:
        assert json.load(f) == saved
    assert printer_settings.load() == saved
    assert printing.printer_config() == saved
    (event,) = _audits()
    assert event.actor_id == admin.id
    assert event.data["settings"] == saved
    assert [n for n in os.listdir(os.path.dirname(path)) if n.startswith(".printer-")] == []


@pytest.mark.parametrize(("given", "field", "message"), INVALID, ids=[i[1] for i in INVALID])
def test_every_invalid_field_is_refused_and_nothing_written(app, admin, given, field, message):
    printer_settings.save({"type": "preview", "paper_mm": 58}, actor=admin)
    path = printer_settings.settings_path()
    with open(path, "rb") as f:
        before = f.read()
    with pytest.raises(ValidationFailed) as info:
        printer_settings.save(given, actor=admin)
    assert message in info.value.message
    assert info.value.details["field"] == field
    with open(path, "rb") as f:
        assert f.read() == before
    assert len(_audits()) == 1
    assert sorted(os.listdir(os.path.dirname(path))).count("printer.json") == 1


def test_without_a_file_the_instance_config_applies(app):
    app.config["JIFEN_PRINTER"] = {"type": "preview", "paper_mm": 58, "mode": "raster"}
    assert not os.path.exists(printer_settings.settings_path())
    assert printer_settings.load() == {"type": "preview", "paper_mm": 58, "mode": "raster"}
    config = printing.printer_config()
    config["paper_mm"] = 80  # a copy: changing it changes nothing
    assert printer_settings.load()["paper_mm"] == 58


def test_a_changed_file_is_read_again_and_a_broken_one_falls_back(app, admin):
    printer_settings.save({"type": "preview", "paper_mm": 58}, actor=admin)
    assert printer_settings.load()["paper_mm"] == 58
    printer_settings.save({"type": "preview", "paper_mm": 80}, actor=admin)
    assert printer_settings.load()["paper_mm"] == 80
    with open(printer_settings.settings_path(), "w", encoding="utf-8") as f:
        f.write("{not json")
    app.config["JIFEN_PRINTER"] = {"type": "preview", "paper_mm": 58}
    assert printer_settings.load() == {"type": "preview", "paper_mm": 58}


def test_a_saved_network_printer_gets_the_test_page(app, supermarket, admin):
    fake = FakeNetworkPrinter()
    fake.start()
    try:
        printer_settings.save(
            {"type": "network", "host": "127.0.0.1", "port": fake.port, "paper_mm": 58},
            actor=admin,
        )
        job = printing.print_test_page(supermarket.id, actor=admin)
        assert job.status == "printed", job.last_error
        assert job.printer == f"network 127.0.0.1:{fake.port}"
        assert fake.jobs == [job.payload]
        printout = decode(fake.jobs[0])
        assert printout.lines[0] == "打印测试"
        assert "纸宽：58毫米，每行32字符" in printout.lines
    finally:
        fake.stop()


# The API ------------------------------------------------------------------------------------


def test_admin_puts_settings_and_everyone_reads_them(app, as_admin, as_keeper):
    body = {"settings": {"type": "network", "host": "10.0.0.9", "port": 9100, "paper_mm": 58}}
    r = as_admin.put("/api/v1/printer", body)
    assert r.status_code == 200, r.get_json()
    data = r.get_json()
    check_schema(data, "PrinterSettingsResult")
    assert data["printer"] == {
        "type": "network",
        "paper_mm": 58,
        "mode": "text",
        "profile": None,
        "described": "network 10.0.0.9:9100",
    }
    assert data["settings"]["host"] == "10.0.0.9"
    r = as_keeper.get("/api/v1/printer")
    assert r.status_code == 200
    assert r.get_json()["printer"]["described"] == "network 10.0.0.9:9100"


@pytest.mark.parametrize("who", ["as_keeper", "as_supervisor"])
def test_only_admins_may_put(app, request, who):
    api = request.getfixturevalue(who)
    r = api.put("/api/v1/printer", {"settings": {"type": "preview", "paper_mm": 58}})
    assert r.status_code == 403
    assert error_code(r) == "forbidden"
    assert not os.path.exists(printer_settings.settings_path())
    assert _audits() == []


@pytest.mark.parametrize(
    "body",
    [
        {"settings": {"type": "network", "host": "10.0.0.9", "port": 99999}},
        {"settings": "preview"},
        {},
    ],
)
def test_bad_put_answers_400_in_chinese_and_writes_nothing(app, as_admin, body):
    r = as_admin.put("/api/v1/printer", body)
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["code"] == "invalid_request"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])
    assert not os.path.exists(printer_settings.settings_path())
    assert _audits() == []
