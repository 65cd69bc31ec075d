"""`jifen policy show|set|import` and `jifen cycle close`, through the CLI runner."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import sqlalchemy as sa

from kiosk.check import run_checks
from kiosk.extensions import db
from kiosk.models import ENTRY_BASE_GRANT, CycleClose, PointEntry, Supermarket
from kiosk.rules import policy_io, presets
from kiosk.rules.policies import policy_for
from tests import factories


def _policy() -> object:
    db.session.rollback()
    return policy_for(db.session.scalar(sa.select(Supermarket)))


def test_policy_show_prints_the_default_as_toml(runner, supermarket):
    result = runner.invoke(args=["policy", "show"])
    assert result.exit_code == 0, result.output
    assert "DT01" in result.output and "默认规则" in result.output
    body = "\n".join(line for line in result.output.splitlines() if not line.startswith("#"))
    assert policy_io.policy_from_toml(body) == _policy()


def test_policy_set_a_preset(runner, supermarket):
    result = runner.invoke(args=["policy", "set", "gaoyang"])
    assert result.exit_code == 0, result.output
    assert "高阳" in result.output
    assert _policy() == presets.preset("gaoyang")
    shown = runner.invoke(args=["policy", "show"])
    assert "gaoyang" in shown.output


def test_policy_set_an_unknown_preset_fails_cleanly(runner, supermarket):
    result = runner.invoke(args=["policy", "set", "nosuch"])
    assert result.exit_code == 1
    assert "没有名为 nosuch 的预设规则" in result.output
    assert _policy() == policy_for(db.session.scalar(sa.select(Supermarket)))
    assert db.session.scalar(sa.select(Supermarket.policy)) is None


def test_policy_import_a_toml_file(runner, supermarket, tmp_path):
    own = dataclasses.replace(presets.preset("zhaili"), name="东村美德积分", preset=None)
    path = tmp_path / "east.toml"
    path.write_text(policy_io.policy_to_toml(own), encoding="utf-8")
    result = runner.invoke(args=["policy", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "东村美德积分" in result.output
    assert _policy() == own


def test_policy_import_refuses_a_bad_file_and_keeps_the_old_policy(runner, supermarket, tmp_path):
    runner.invoke(args=["policy", "set", "datong"])
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "坏规则"\nholder = "nobody"\n', encoding="utf-8")
    result = runner.invoke(args=["policy", "import", str(bad)])
    assert result.exit_code == 1
    assert "评分对象" in result.output  # the field in Chinese (holder)
    garbage = tmp_path / "garbage.toml"
    garbage.write_bytes(b"\xff\xfe not text")
    assert runner.invoke(args=["policy", "import", str(garbage)]).exit_code == 1
    assert _policy() == presets.preset("datong")


def test_cycle_close_once_per_year(runner, supermarket, monkeypatch):
    factories.pin_clock(monkeypatch, datetime(2025, 1, 3, 9, 0))
    factories.household(supermarket, points=130)  # registered before 高阳's rules (no base)
    factories.household(supermarket)
    factories.policy(supermarket, "gaoyang")
    first = runner.invoke(args=["cycle", "close", "--year", "2024"])
    assert first.exit_code == 0, first.output
    assert "2 户" in first.output and "清零 130 分" in first.output
    assert "发放下年度基础分 200 分" in first.output
    second = runner.invoke(args=["cycle", "close", "--year", "2024"])
    assert second.exit_code == 0
    assert second.output == first.output  # the first result again
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(CycleClose.id))) == 1
    assert (
        db.session.scalar(
            sa.select(sa.func.count(PointEntry.id)).where(PointEntry.kind == ENTRY_BASE_GRANT)
        )
        == 2
    )
    assert run_checks() == []


def test_cycle_close_refusals(runner, supermarket, monkeypatch):
    factories.pin_clock(monkeypatch, datetime(2025, 1, 3, 9, 0))
    rolling = runner.invoke(args=["cycle", "close", "--year", "2024"])
    assert rolling.exit_code == 1 and "滚动结存" in rolling.output
    factories.policy(supermarket, "gaoyang")
    early = runner.invoke(args=["cycle", "close", "--year", "2025"])
    assert early.exit_code == 1 and "还没有结束" in early.output
    assert runner.invoke(args=["cycle", "close"]).exit_code == 2  # --year is required
