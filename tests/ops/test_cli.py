"""The ``jifen`` CLI: init, demo, user add, token, serve, cards print and check.

Most tests drive the commands in-process through the ``runner`` fixture (both backends). The
first ones run the real console entry point in a subprocess against a brand-new database
(``DATABASE_URL`` and ``JIFEN_INSTANCE`` pointing at throwaway places), as a newcomer would.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from inventory.models import Category, Product
from kiosk import auth, cards, demo
from kiosk.check import run_checks
from kiosk.extensions import db
from kiosk.models import (
    CARD_ACTIVE,
    REDEMPTION_VOIDED,
    Card,
    Household,
    Member,
    PointAccount,
    Redemption,
    Supermarket,
)
from kiosk.web import scanner
from tests import factories
from tests.conftest import BACKENDS, PG_ADMIN_URL

PAYLOAD_RE = re.compile(r"JF\d{20}")


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- the real entry point on a fresh database -------------------------------------------------


def _jifen_command() -> list[str]:
    script = os.path.join(os.path.dirname(sys.executable), "jifen")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-c", "import sys; from kiosk.cli import main; sys.exit(main())"]


@pytest.fixture(params=BACKENDS)
def fresh_env(request, tmp_path):
    """Environment for a subprocess ``jifen`` on an empty database of each backend."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIFEN_")}
    env["JIFEN_INSTANCE"] = str(tmp_path / "instance")
    admin = None
    name = f"jifen_cli_{uuid.uuid4().hex[:10]}"
    if request.param == "postgresql":
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = sa.make_url(PG_ADMIN_URL).set(database=name)
        env["DATABASE_URL"] = url.render_as_string(hide_password=False)
    else:
        env.pop("DATABASE_URL", None)
    yield env
    if admin is not None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _run(env: dict, *args: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*_jifen_command(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_newcomer_flow_on_a_fresh_database(fresh_env, tmp_path):
    first = _run(fresh_env, "init", "--code", "GY01", "--name", "高阳镇积分超市")
    assert first.returncode == 0, first.stderr
    assert "已创建" in first.stdout
    assert "GY01 高阳镇积分超市（新建）" in first.stdout
    assert os.path.exists(os.path.join(fresh_env["JIFEN_INSTANCE"], "secrets.cfg"))

    again = _run(fresh_env, "init")
    assert again.returncode == 0, again.stderr
    assert "已是最新" in again.stdout and "（已存在）" in again.stdout

    demo = _run(fresh_env, "demo", "--households", "8")
    assert demo.returncode == 0, demo.stderr
    assert "keeper / keeper123 / PIN 1234" in demo.stdout
    assert PAYLOAD_RE.search(demo.stdout)

    check = _run(fresh_env, "check")
    assert check.returncode == 0, check.stderr
    assert "账目检查通过" in check.stdout

    pdf = tmp_path / "cards.pdf"
    printed = _run(fresh_env, "cards", "print", "--all", "--output", str(pdf))
    assert printed.returncode == 0, printed.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    # The 8 households asked for and the office's examples (kiosk.households.seed_demo_households:
    # three with polyphonic surnames and cards, one moved away without a card).
    assert "11 张卡，2 页" in printed.stdout


def test_serve_refuses_an_uninitialised_database(fresh_env):
    result = _run(fresh_env, "serve", "--port", "8999")
    assert result.returncode == 1
    assert "jifen init" in result.stderr


# --- init -------------------------------------------------------------------------------------


def test_init_on_a_schema_made_without_migrations_stamps_it(runner):
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "数据库结构：" in result.output
    sm = db.session.scalars(sa.select(Supermarket)).one()
    assert (sm.code, sm.name, sm.town, sm.village) == (
        "DT01",
        "大同镇东村积分超市",
        "大同镇",
        "东村",
    )
    again = runner.invoke(args=["init", "--code", "XX99"])
    assert again.exit_code == 0, again.output
    assert "已是最新" in again.output
    assert _count(Supermarket) == 1


def test_init_rejects_a_bad_supermarket_code(runner):
    result = runner.invoke(args=["init", "--code", "x"])
    assert result.exit_code == 1
    assert "超市编号" in result.output
    assert _count(Supermarket) == 0


# --- demo -------------------------------------------------------------------------------------


def test_demo_loads_a_village_whose_books_are_clean(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert run_checks() == []

    # 60 households and the households pages' four examples (seed_demo_households).
    assert _count(Household) == 64
    members = _count(Member)
    assert 60 < members <= 300
    sizes = db.session.execute(
        sa.select(sa.func.count(Member.id)).group_by(Member.household_id)
    ).scalars()
    assert set(sizes) <= {1, 2, 3, 4, 5}
    active_cards = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Card.household_id))).where(Card.status == CARD_ACTIVE)
    )
    assert active_cards == 63  # (the household that moved away has none)
    assert _count(Card) == 65  # two lost cards were reissued

    assert 36 <= _count(Product) <= 44
    names = set(db.session.scalars(sa.select(Category.name)))
    assert names == {"粮油", "调味", "日用品", "洗护", "文具", "服务"}
    services = set(db.session.scalars(sa.select(Product.name).where(Product.kind == "service")))
    assert {"理疗卡（单次）", "长者食堂午餐"} <= services
    for product in db.session.scalars(sa.select(Product)):
        assert product.points_price > 0
        if product.kind == "goods":
            assert product.stock_qty > 0
            digits = [int(d) for d in product.barcode]
            assert len(digits) == 13
            assert sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0

    assert _count(Redemption) >= 10  # six market days of six households, as budgets allow
    voided = db.session.scalar(
        sa.select(sa.func.count(Redemption.id)).where(Redemption.status == REDEMPTION_VOIDED)
    )
    assert voided == 1
    assert db.session.scalar(sa.select(sa.func.min(PointAccount.balance))) >= -20

    keeper = auth.login_password("keeper", "keeper123")
    assert auth.login_pin(keeper.id, "1234").username == "keeper"
    assert auth.login_password("admin", "admin123").role == "admin"
    assert auth.login_password("supervisor", "super123").role == "supervisor"

    payloads = PAYLOAD_RE.findall(result.output)
    assert len(payloads) >= 2
    for payload in payloads:
        assert cards.resolve_card(payload).status == CARD_ACTIVE

    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert "已经加载过" in again.output
    assert PAYLOAD_RE.findall(again.output) == payloads
    assert _count(Household) == 64


def test_demo_families_are_deterministic_and_barcodes_valid():
    a = demo._family(random.Random(7), date(2025, 1, 1))
    b = demo._family(random.Random(7), date(2025, 1, 1))
    assert a == b
    assert a[0].relation == "户主"
    assert demo.ean13("690123456789") == "6901234567892"


def test_demo_does_not_mix_into_real_data(runner, supermarket):
    factories.household(supermarket)
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 1
    assert "真实数据" in result.output
    assert _count(Household) == 1


# --- users and tokens -------------------------------------------------------------------------


def test_user_add_with_password_and_pin(runner, supermarket):
    result = runner.invoke(
        args=[
            "user",
            "add",
            "wang",
            "--role",
            "keeper",
            "--name",
            "王店长",
            "--password",
            "secret99",
            "--pin",
            "2468",
        ]
    )
    assert result.exit_code == 0, result.output
    user = auth.login_password("wang", "secret99")
    assert (user.display_name, user.role, user.supermarket_id) == (
        "王店长",
        "keeper",
        supermarket.id,
    )
    assert auth.login_pin(user.id, "2468").id == user.id


def test_user_add_prompts_for_a_hidden_password_on_a_terminal(runner, supermarket, monkeypatch):
    monkeypatch.setattr("kiosk.cli._stdin_is_tty", lambda: True)
    result = runner.invoke(
        args=["user", "add", "li", "--role", "admin"], input="pw123456\npw123456\n"
    )
    assert result.exit_code == 0, result.output
    assert "pw123456" not in result.output
    assert auth.login_password("li", "pw123456").role == "admin"


def test_user_add_without_password_or_terminal_is_a_clear_error(runner, supermarket):
    result = runner.invoke(args=["user", "add", "li", "--role", "admin"])
    assert result.exit_code == 2
    assert "--password" in result.output
    assert auth.pin_keepers(None) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "keeper", "--pin", "12"], "PIN应为4到8位数字"),
        (["--role", "admin", "--pin", "1234"], "只有超市管理员"),
        (["--role", "admin", "--password", "123"], "密码至少6位"),
        (["--role", "boss", "--password", "secret99"], "boss"),
    ],
)
def test_user_add_refusals(runner, supermarket, args, message):
    result = runner.invoke(args=["user", "add", "zhao", *args])
    assert result.exit_code != 0
    assert message in result.output


def test_user_add_duplicate(runner, keeper):
    result = runner.invoke(
        args=["user", "add", "keeper1", "--role", "keeper", "--password", "abcdefg"]
    )
    assert result.exit_code == 1
    assert "已存在" in result.output


def test_token_authenticates_its_user(runner, admin):
    result = runner.invoke(args=["token", "admin1", "--label", "村委电脑"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("jf_")
    assert auth.user_for_token(token).username == "admin1"


def test_token_for_unknown_user(runner, supermarket):
    result = runner.invoke(args=["token", "nobody"])
    assert result.exit_code == 1
    assert "nobody" in result.output


# --- serve ------------------------------------------------------------------------------------


def test_serve_runs_waitress_with_the_options(runner, monkeypatch):
    calls = []
    monkeypatch.setattr("waitress.serve", lambda app, **kw: calls.append((app, kw)))
    result = runner.invoke(args=["serve", "--port", "8123", "--threads", "4"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/" in result.output
    ((app, kw),) = calls
    assert app.name == "kiosk"
    # Four for requests, plus one for each scanner page's event stream (JIFEN_SSE_MAX_STREAMS),
    # so open scanner pages never starve logins and scans.
    streams = app.config.get("JIFEN_SSE_MAX_STREAMS", scanner.DEFAULT_SSE_STREAMS)
    assert (kw["host"], kw["port"], kw["threads"]) == ("127.0.0.1", 8123, 4 + streams)
    assert streams >= 8 and kw["channel_request_lookahead"] == 1


# --- check ------------------------------------------------------------------------------------


def test_check_clean_then_breach(runner, supermarket):
    hh = factories.household(supermarket, points=30)
    factories.product(supermarket, stock_qty=5)
    clean = runner.invoke(args=["check"])
    assert clean.exit_code == 0, clean.output
    assert "账目检查通过" in clean.output

    account_id = hh.account.id
    db.session.rollback()  # end the read transaction so the raw UPDATE below is seen
    db.session.execute(
        sa.text("UPDATE point_accounts SET balance = balance + 5 WHERE id = :id"),
        {"id": account_id},
    )
    db.session.commit()
    broken = runner.invoke(args=["check"])
    assert broken.exit_code == 1
    assert f"account {account_id}" in broken.output
    assert "balance 35 but entries sum to 30" in broken.output
    assert "1 处问题" in broken.output


# --- cards print ------------------------------------------------------------------------------


def _pdf_pages(path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", path.read_bytes()))


def test_cards_print_all(runner, supermarket, tmp_path):
    for i in range(12):
        factories.card(factories.household(supermarket, number=f"02{i:03d}"))
    out = tmp_path / "all.pdf"
    result = runner.invoke(args=["cards", "print", "--all", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "12 张卡，2 页" in result.output
    assert _pdf_pages(out) == 2


def test_cards_print_chosen_households_decodes_back(runner, supermarket, tmp_path, monkeypatch):
    import zxingcpp

    from hardware import cards as sheet

    homes = [factories.household(supermarket, head_name="欧阳娜娜") for _ in range(3)]
    payloads = {h.number: factories.card(h)[1] for h in homes}
    captured = []
    real = sheet.render_pages
    monkeypatch.setattr(
        sheet,
        "render_pages",
        lambda faces, *a, **kw: captured.extend(faces) or real(faces, *a, **kw),
    )
    out = tmp_path / "two.pdf"
    result = runner.invoke(
        args=[
            "cards",
            "print",
            "--household",
            homes[2].number,
            "--household",
            homes[0].number,
            "-o",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    assert [f.household_no for f in captured] == [homes[2].number, homes[0].number]
    assert all(f.masked_name == "欧**娜" for f in captured)
    assert [f.payload for f in captured] == [payloads[homes[2].number], payloads[homes[0].number]]
    page = real(captured)[0]
    assert {r.text for r in zxingcpp.read_barcodes(page)} == {f.payload for f in captured}


def test_cards_print_refusals(runner, supermarket, tmp_path):
    out = str(tmp_path / "x.pdf")
    nothing = runner.invoke(args=["cards", "print", "-o", out])
    assert nothing.exit_code == 2
    assert "--all" in nothing.output

    unknown = runner.invoke(args=["cards", "print", "--household", "99999", "-o", out])
    assert unknown.exit_code == 1
    assert "99999" in unknown.output

    hh = factories.household(supermarket)
    no_card = runner.invoke(args=["cards", "print", "--household", hh.number, "-o", out])
    assert no_card.exit_code == 1
    assert "--issue-missing" in no_card.output
    assert not os.path.exists(out)

    issued = runner.invoke(
        args=["cards", "print", "--household", hh.number, "--issue-missing", "-o", out]
    )
    assert issued.exit_code == 0, issued.output
    assert cards.active_card(hh) is not None
