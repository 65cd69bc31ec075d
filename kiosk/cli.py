"""The ``jifen`` command: a Flask CLI group over the same services the pages and API use.

Commands parse their arguments, call one service, and print. Refusals from the services
(DomainError) become a clear Chinese message and exit status 1.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from kiosk.errors import DomainError
from kiosk.install import install_command, uninstall_command
from kiosk.models import ROLES


def _create_app() -> Flask:
    from kiosk import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """jifen: the village points supermarket kiosk (积分超市)."""


# install/uninstall set the box up; they load no app (nor make an instance folder).
main.add_command(install_command)
main.add_command(uninstall_command)


def domain_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a service's refusal into a clean CLI error (exit status 1)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None

    return wrapper


def _database_label() -> str:
    from kiosk.extensions import db

    return db.engine.url.render_as_string(hide_password=True)


def _stdin_is_tty() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


# --- init -----------------------------------------------------------------------------------


@click.command("init")
@click.option("--code", default="DT01", show_default=True, help="超市编号，用作小票号前缀")
@click.option("--name", default="大同镇东村积分超市", show_default=True, help="超市名称")
@click.option("--town", default="大同镇", show_default=True, help="所属镇（街道）")
@click.option("--village", default="东村", show_default=True, help="所属村")
@with_appcontext
@domain_errors
def init_command(code: str, name: str, town: str, village: str) -> None:
    """Create or upgrade the database and register the supermarket (safe to run again)."""
    from kiosk.schema import SchemaMismatch, current_revision, upgrade_database
    from kiosk.supermarkets import create_supermarket, find_supermarket

    os.makedirs(current_app.instance_path, exist_ok=True)
    click.echo(f"实例目录：{current_app.instance_path}")
    click.echo(f"数据库：{_database_label()}")
    _backup_before_upgrade()
    try:
        outcome = upgrade_database()
    except SchemaMismatch as exc:
        raise click.ClickException(str(exc)) from None
    label = {
        "created": "已创建",
        "upgraded": "已升级",
        "current": "已是最新",
        "stamped": "已有表且与模型一致，已记录迁移版本",
    }[outcome]
    click.echo(f"数据库结构：{label}（版本 {current_revision()}）")

    supermarket = find_supermarket()
    if supermarket is None:
        supermarket = create_supermarket(code=code, name=name, town=town, village=village)
        click.echo(f"超市：{supermarket.code} {supermarket.name}（新建）")
    else:
        click.echo(f"超市：{supermarket.code} {supermarket.name}（已存在）")
    click.echo("下一步：jifen demo 载入演示村，或 jifen user add 添加管理员，然后 jifen serve")


def _backup_before_upgrade() -> None:
    """An existing database with migrations to run is backed up first (kiosk.backup)."""
    from kiosk.backup import BackupFailed, run_backup
    from kiosk.schema import VERSION_TABLE, current_revision, head_revision, table_names

    if VERSION_TABLE not in table_names() or current_revision() in (None, head_revision()):
        return
    click.echo(f"数据库结构需要从 {current_revision()} 升级到 {head_revision()}，先做一次备份……")
    try:
        result = run_backup(reason="upgrade")
    except BackupFailed as exc:
        raise click.ClickException(f"升级前的备份失败，没有升级：{exc.message}") from None
    if not result.ok:
        raise click.ClickException(
            f"升级前的备份检验没有通过，没有升级：{result.error}（备份另放在 {result.path}）"
        )
    click.echo(f"升级前的备份：{result.path}")


# --- demo -----------------------------------------------------------------------------------


def _print_demo(summary: Any) -> None:
    click.echo("")
    if summary.policy:
        click.echo(f"兑换规则：{summary.policy}")
    if summary.window_note:
        click.echo(f"兑换日：{summary.window_note}")
    click.echo("演示登录（用户名 / 密码 / PIN）：")
    for username, password, pin, display in summary.logins:
        role_pin = f" / PIN {pin}" if pin else ""
        click.echo(f"  {display:<4} {username} / {password}{role_pin}")
    if summary.sample_cards:
        click.echo("演示积分卡（在柜台点“输入卡号”输入，或扫码）和今天柜台上的结果：")
        for card in summary.sample_cards:
            click.echo(
                f"  {card.payload}  户号 {card.household_no} {card.masked_name}  {card.shows}"
            )


@click.command("demo")
@click.option(
    "--preset",
    type=click.Choice(["datong", "gaoyang", "zhaili", "yangting"]),
    default="datong",
    show_default=True,
    help="演示村采用的兑换规则（大同镇、高阳镇、寨里镇、羊亭镇）",
)
@click.option("--seed", default=None, type=int, help="随机种子（默认固定，结果可重复）")
@click.option(
    "--households", default=60, show_default=True, type=click.IntRange(1, 400), help="户数"
)
@with_appcontext
@domain_errors
def demo_command(seed: int | None, households: int, preset: str) -> None:
    """Load the demo village under a rule set (--preset, 大同 by default): households, cards,
    goods with stock, points history, and cards that show the rule set at the counter today."""
    from kiosk import demo
    from kiosk.schema import table_names, upgrade_database

    if not table_names():
        click.echo("数据库还是空的，先按迁移建表……")
        upgrade_database()
    if demo.demo_exists():
        click.echo("演示数据已经加载过了，无需重复加载。")
        _print_demo(demo.existing_summary())
        return
    try:
        summary = demo.load_demo(
            seed=demo.DEFAULT_SEED if seed is None else seed,
            households_count=households,
            preset=preset,
        )
    except demo.DatabaseNotEmpty as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"已载入演示村（{summary.supermarket}）：{summary.households} 户、{summary.members} 人、"
        f"{summary.cards} 张卡、{summary.products} 种商品、{summary.point_entries} 条积分流水、"
        f"{summary.redemptions} 张兑换单（其中 {summary.voided} 张已作废）"
    )
    _print_demo(summary)


# --- users and tokens -------------------------------------------------------------------------


@click.group("user")
def user_group() -> None:
    """Manage users (keeper 超市管理员, admin 村委管理员, supervisor 监督小组, recorder 评议员)."""


@user_group.command("add")
@click.argument("username")
# The roles' values ("keeper", ...): given the enum itself, click would offer its members' names.
@click.option("--role", required=True, type=click.Choice([str(r) for r in ROLES]), help="角色")
@click.option("--name", "display_name", default="", help="显示名，例如 王秀兰")
@click.option("--password", default=None, help="登录密码（不给时在终端里隐藏输入）")
@click.option("--pin", default=None, help="柜台PIN，4到8位数字（仅 keeper）")
@click.option("--supermarket", "supermarket_code", default=None, help="所属超市编号")
@with_appcontext
@domain_errors
def user_add_command(
    username: str,
    role: str,
    display_name: str,
    password: str | None,
    pin: str | None,
    supermarket_code: str | None,
) -> None:
    """Add a user with a password and/or a keeper PIN."""
    from kiosk.auth import create_user
    from kiosk.supermarkets import find_supermarket, get_supermarket

    if password is None and pin is None:
        if not _stdin_is_tty():
            raise click.UsageError(
                "请用 --password 或 --pin 设置登录方式（当前没有终端可以输入密码）"
            )
        password = click.prompt("密码", hide_input=True, confirmation_prompt="再输入一次")
    supermarket = get_supermarket(supermarket_code) if supermarket_code else find_supermarket()
    user = create_user(
        username,
        display_name=display_name or username,
        role=role,
        password=password,
        pin=pin,
        supermarket_id=supermarket.id if supermarket is not None else None,
    )
    where = f"，超市 {supermarket.code}" if supermarket is not None else ""
    click.echo(f"已添加用户 {user.username}（{user.display_name}，{user.role}{where}）")


@click.command("token")
@click.argument("username")
@click.option("--label", default="", help="用途说明，例如 村委电脑")
@with_appcontext
@domain_errors
def token_command(username: str, label: str) -> None:
    """Print a new API token for a user (shown once; only its hash is kept)."""
    from kiosk.auth import issue_token, user_named

    user = user_named(username)
    if user is None or not user.active:
        raise click.ClickException(f"没有找到可用的用户 {username}")
    token = issue_token(user.id, label=label, actor=user)
    click.echo(token)
    click.echo("令牌只显示这一次，请妥善保存；请求时放在 Authorization: Bearer 头里。", err=True)


# --- serve ----------------------------------------------------------------------------------


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
@with_appcontext
def serve_command(host: str, port: int, threads: int) -> None:
    """Serve the kiosk with waitress."""
    import waitress

    from kiosk.schema import table_names

    if not table_names():
        raise click.ClickException("数据库还没有初始化：请先运行 jifen init")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    from kiosk.web import scanner

    scanner.start_camera(app)  # only the serving process opens the webcam
    click.echo(f"jifen 已启动：http://{shown}:{port}/  （按 Ctrl+C 停止）")
    options = scanner.serve_options(app, threads)  # event streams get threads of their own
    # Waitress itself refuses (413) a body beyond the app's largest, before buffering it.
    options.setdefault("max_request_body_size", app.config["MAX_CONTENT_LENGTH"])
    waitress.serve(app, host=host, port=port, ident="jifen", **options)


# --- cards ----------------------------------------------------------------------------------


@click.group("cards")
def cards_group() -> None:
    """Points cards (积分信息卡)."""


@cards_group.command("print")
@click.option("--household", "numbers", multiple=True, help="户号，可重复给出")
@click.option("--all", "all_households", is_flag=True, help="本超市所有在册户")
@click.option(
    "--output",
    "-o",
    default="cards.pdf",
    show_default=True,
    type=click.Path(dir_okay=False, writable=True),
    help="输出的PDF文件",
)
@click.option("--font", default=None, help="中文字体文件（默认自动查找 Noto CJK 等）")
@click.option("--issue-missing", is_flag=True, help="为还没有有效卡片的户先发卡")
@click.option("--supermarket", "supermarket_code", default=None, help="超市编号")
@with_appcontext
@domain_errors
def cards_print_command(
    numbers: tuple[str, ...],
    all_households: bool,
    output: str,
    font: str | None,
    issue_missing: bool,
    supermarket_code: str | None,
) -> None:
    """Print an A4 PDF sheet of cards (CR80, ten to a page) to cut out."""
    from hardware.cards import CardFace, FontNotFound, find_cjk_font, write_pdf
    from kiosk.cards import active_card, issue_card, payload_for
    from kiosk.formatting import mask_name
    from kiosk.households import households_by_number, list_households
    from kiosk.supermarkets import get_supermarket
    from kiosk.timeutil import local_date, utcnow

    if bool(numbers) == all_households:
        raise click.UsageError("请用 --household 户号 指定要打印的户，或用 --all 打印全部")
    supermarket = get_supermarket(supermarket_code)
    try:
        cjk_font = find_cjk_font(font)
    except FontNotFound as exc:
        raise click.ClickException(str(exc)) from None

    if numbers:
        wanted = [n.strip() for n in numbers]
        homes = households_by_number(supermarket.id, wanted)
        missing = sorted(set(wanted) - {h.number for h in homes})
        if missing:
            raise click.ClickException(f"没有找到这些户号：{'、'.join(missing)}")
    else:
        homes = list_households(supermarket.id, active_only=True)
        if not homes:
            raise click.ClickException("本超市还没有在册户")

    faces = []
    without_card = []
    for home in homes:
        card = active_card(home)
        if card is None and issue_missing:
            card = issue_card(home.id, actor=None, reason="打印卡片时发卡")
        if card is None:
            without_card.append(home.number)
            continue
        faces.append(
            CardFace(
                supermarket_name=supermarket.name,
                village=home.village or supermarket.village,
                household_no=home.number,
                masked_name=mask_name(home.head_name),
                payload=payload_for(card),
            )
        )
    if without_card:
        raise click.ClickException(
            f"这些户还没有有效卡片：{'、'.join(without_card)}（加 --issue-missing 先发卡）"
        )
    today = local_date(utcnow(), current_app.config["JIFEN_TIMEZONE"])
    pages = write_pdf(faces, output, cjk_font, footer=f"{supermarket.name} · 打印于 {today}")
    click.echo(f"已生成 {output}：{len(faces)} 张卡，{pages} 页（A4，请按100%比例打印，不要缩放）")


# --- policy and cycle -----------------------------------------------------------------------


@click.group("policy")
def policy_group() -> None:
    """The supermarket's rule set (兑换规则): show it, choose a preset, import a TOML file."""


def _announce_policy(policy: Any) -> None:
    from kiosk.rules.policy_io import policy_to_toml

    click.echo(policy_to_toml(policy).rstrip())


@policy_group.command("show")
@click.option("--supermarket", "supermarket_code", default=None, help="超市编号")
@with_appcontext
@domain_errors
def policy_show_command(supermarket_code: str | None) -> None:
    """Print the rule set in force, as TOML (the form `jifen policy import` reads)."""
    from kiosk.rules.policies import policy_for
    from kiosk.supermarkets import get_supermarket

    supermarket = get_supermarket(supermarket_code)
    policy = policy_for(supermarket)
    preset = f"，预设 {policy.preset}" if policy.preset else ""
    click.echo(f"# {supermarket.code} {supermarket.name}：{policy.name}{preset}")
    _announce_policy(policy)


@policy_group.command("set")
@click.argument("preset_key")
@click.option("--supermarket", "supermarket_code", default=None, help="超市编号")
@with_appcontext
@domain_errors
def policy_set_command(preset_key: str, supermarket_code: str | None) -> None:
    """Switch to a preset: datong (大同镇), gaoyang (高阳镇), zhaili (寨里镇), yangting (羊亭镇)."""
    from kiosk.rules.policies import set_policy
    from kiosk.rules.presets import PRESETS, preset
    from kiosk.supermarkets import get_supermarket

    key = preset_key.strip().lower()
    if key not in PRESETS:
        raise click.ClickException(
            f"没有名为 {preset_key} 的预设规则，可选：{'、'.join(sorted(PRESETS))}"
        )
    supermarket = get_supermarket(supermarket_code)
    policy = set_policy(supermarket.id, preset(key), actor=None)
    click.echo(f"{supermarket.code} 已改用规则：{policy.name}（预设 {key}）")


@policy_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--supermarket", "supermarket_code", default=None, help="超市编号")
@with_appcontext
@domain_errors
def policy_import_command(path: str, supermarket_code: str | None) -> None:
    """Switch to the rule set in a TOML file (see `jifen policy show` for the form)."""
    from kiosk.errors import ValidationFailed
    from kiosk.rules.policies import set_policy
    from kiosk.rules.policy_io import policy_from_toml
    from kiosk.supermarkets import get_supermarket

    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except UnicodeDecodeError:
        raise ValidationFailed(f"{path} 不是 UTF-8 编码的文本文件") from None
    policy = policy_from_toml(text)
    supermarket = get_supermarket(supermarket_code)
    policy = set_policy(supermarket.id, policy, actor=None)
    click.echo(f"{supermarket.code} 已改用规则：{policy.name}（来自 {path}）")


@click.group("cycle")
def cycle_group() -> None:
    """Year-end turnover for calendar-year rule sets (高阳: 次年重新积分)."""


@cycle_group.command("close")
@click.option("--year", required=True, type=int, help="要结束的年度，例如 2024")
@click.option("--supermarket", "supermarket_code", default=None, help="超市编号")
@with_appcontext
@domain_errors
def cycle_close_command(year: int, supermarket_code: str | None) -> None:
    """Close a year: points lapse and each household gets next year's base (once per year)."""
    from kiosk.cycle import close_cycle
    from kiosk.formatting import local_time
    from kiosk.supermarkets import get_supermarket

    supermarket = get_supermarket(supermarket_code)
    result = close_cycle(supermarket.id, year, actor=None)
    click.echo(
        f"{supermarket.code} {result.year}年度已结转（{local_time(result.closed_at)}）："
        f"{result.households} 户，清零 {result.expired_points} 分，"
        f"发放下年度基础分 {result.granted_points} 分"
    )


# --- check ----------------------------------------------------------------------------------


@click.command("check")
@with_appcontext
def check_command() -> None:
    """Verify that every balance equals its entries and every stock its movements."""
    from kiosk.check import run_checks
    from kiosk.schema import table_names

    if not table_names():
        raise click.ClickException("数据库还是空的（没有建表）：先运行 jifen init，或 ./run demo")
    problems = run_checks()
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"账目检查发现 {len(problems)} 处问题", err=True)
        sys.exit(1)
    click.echo("账目检查通过：积分余额、库存与流水全部一致")


def register(app: Flask) -> None:
    """Add jifen's commands to the app's CLI (``jifen ...`` and ``flask --app kiosk ...``)."""
    from kiosk.backup import backup_command, restore_command

    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    for command in (
        init_command,
        demo_command,
        user_group,
        token_command,
        serve_command,
        cards_group,
        check_command,
        policy_group,
        cycle_group,
        import_command,
        households_group,
        ledger_command,
        report_group,
        monthend_group,
        product_group,
    ):
        app.cli.add_command(command)


# --- products (inventory.products) ---------------------------------------------------------


@click.group("product")
def product_group() -> None:
    """Products' rule-linked settings (商品设置): goods or service, restriction, price."""


@product_group.command("set")
@click.argument("sku")
@click.option(
    "--restriction",
    default=None,
    help="规则里的限定物品键（如 elder_canteen，寨里长者食堂）；写 none 取消限定",
)
@click.option("--kind", type=click.Choice(["goods", "service"]), default=None, help="实物或服务")
@click.option("--price", "price_yuan", default=None, help="服务价格（元，如 8 或 12.50）")
@click.option("--on-sale/--off-sale", "active", default=None, help="上架或下架")
@click.option("--supermarket", "supermarket_code", default=None, help="超市编号")
@with_appcontext
@domain_errors
def product_set_command(
    sku: str,
    restriction: str | None,
    kind: str | None,
    price_yuan: str | None,
    active: bool | None,
    supermarket_code: str | None,
) -> None:
    """Change a product's rule-linked settings, e.g. `jifen product set CANTEEN01 --restriction
    elder_canteen` makes it 寨里's free elders' canteen meal."""
    from inventory.donations import fen_from_yuan
    from inventory.products import product_by_sku, update_product
    from kiosk.errors import NotFound
    from kiosk.supermarkets import get_supermarket

    supermarket = get_supermarket(supermarket_code)
    product = product_by_sku(supermarket.id, sku)
    if product is None:
        raise NotFound(f"没有找到商品编号为 {sku} 的商品")
    changes: dict[str, Any] = {}
    if restriction is not None:
        none = restriction.strip().lower() in ("", "none", "无")
        changes["restriction_key"] = None if none else restriction.strip()
    if kind is not None:
        changes["kind"] = kind
    if price_yuan is not None:
        changes["unit_cost_fen"] = fen_from_yuan(price_yuan, "服务价格")
    if active is not None:
        changes["active"] = active
    if not changes:
        raise click.ClickException(
            "没有要修改的设置：用 --restriction、--kind、--price 或 --on-sale"
        )
    product = update_product(supermarket.id, product.id, actor=None, **changes)
    limit = product.restriction_key or "无"
    click.echo(
        f"{product.sku} {product.name}：{'服务' if product.kind == 'service' else '实物'}，"
        f"限定物品 {limit}，{product.points_price} 积分，{'上架' if product.active else '下架'}"
    )


# --- import (kiosk.imports) -----------------------------------------------------------------


@click.command("import")
@click.argument("kind", type=click.Choice(["households", "points", "scores"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--commit", is_flag=True, help="全部行无误时写入（不加此项只预检，不写入）")
@click.option("--supermarket", "supermarket_code", default=None, help="超市编号")
@click.option("--user", "username", default=None, help="以哪位管理员的名义导入（记入操作日志）")
@with_appcontext
@domain_errors
def import_command(
    kind: str, path: str, commit: bool, supermarket_code: str | None, username: str | None
) -> None:
    """Import households, points (as pending proposals) or scores from XLSX or CSV.

    Every row is checked first; any error is printed with its row number and nothing is
    written (exit status 1). With --commit a clean file is written in one transaction.
    """
    from kiosk import imports, permissions
    from kiosk.auth import user_named
    from kiosk.errors import NotFound
    from kiosk.supermarkets import get_supermarket

    supermarket = get_supermarket(supermarket_code)
    actor = None
    if username:
        actor = user_named(username)
        if actor is None or not actor.active or not permissions.allows(actor, "points.enter"):
            raise NotFound(f"没有名为 {username} 的管理员")
    with open(path, "rb") as fh:
        data = fh.read()
    filename = os.path.basename(path)
    # Count the rows once for the bar's length (the check reads the file again).
    table = imports.read_table(kind, data, filename)
    total = len(table.rows)
    label = imports.KIND_LABELS[kind]
    with click.progressbar(length=total, label=f"检查{label}", show_pos=True) as bar:
        batch, checked = imports.preview_import(
            supermarket.id, kind, filename, data, actor=actor, progress=bar.update
        )
    for message in checked.messages():
        click.echo(message, err=True)
    if not checked.ok:
        count = len(checked.messages()) or 1
        if not checked.messages():
            click.echo("表格里没有数据行", err=True)
        click.echo(f"{filename}：共 {total} 行，{count} 处错误，没有写入任何数据", err=True)
        sys.exit(1)
    if not commit:
        click.echo(f"{filename}：{total} 行全部无误（批次 #{batch.id}）。加 --commit 写入。")
        return
    with click.progressbar(length=total * 2, label=f"写入{label}", show_pos=True) as bar:
        result = imports.commit_import(batch.id, actor=actor, progress=bar.update)
    written = "，".join(
        f"{v} {imports.WRITTEN_LABELS.get(k, k)}" for k, v in result.written.items()
    )
    click.echo(f"{filename}：已导入（批次 #{result.batch_id}）：{written}")


# --- households (kiosk.households) ----------------------------------------------------------


@click.group("households")
def households_group() -> None:
    """Households (户): search keys."""


@households_group.command("reindex")
@click.option("--supermarket", "supermarket_code", default=None, help="超市编号（默认全部超市）")
@with_appcontext
@domain_errors
def households_reindex_command(supermarket_code: str | None) -> None:
    """Rebuild every household's search key (names, pinyin, initials, number).

    Run once after upgrading to a version with search keys, or after editing names in the
    database by hand; `jifen check` lists households whose key is stale.
    """
    from kiosk.households import rebuild_search_keys
    from kiosk.supermarkets import get_supermarket

    supermarket_id = get_supermarket(supermarket_code).id if supermarket_code else None
    changed = rebuild_search_keys(supermarket_id)
    click.echo(f"已更新 {changed} 户的查找关键字")


# --- ledgers (inventory.ledgers) ------------------------------------------------------------


@click.command("ledger")
@click.argument("book", type=click.Choice(["stock-in", "redemption"]))
@click.option("--from", "date_from", default=None, help="开始日期，例如 2026-11-01（默认本月1日）")
@click.option("--to", "date_to", default=None, help="结束日期（含当天；默认本月最后一天）")
@click.option("--out", "out_path", default=None, help="保存到的 .xlsx 文件（默认用台账名称）")
@click.option("--supermarket", "supermarket_code", default=None, help="超市编号")
@with_appcontext
@domain_errors
def ledger_command(
    book: str,
    date_from: str | None,
    date_to: str | None,
    out_path: str | None,
    supermarket_code: str | None,
) -> None:
    """Export the stock-in ledger (物品入库台账) or the redemption / pickup ledger
    (物品兑换领取台账) of a date range as an XLSX file to print."""
    from pathlib import Path

    from inventory import ledgers
    from kiosk.supermarkets import get_supermarket

    supermarket = get_supermarket(supermarket_code)
    filters = ledgers.make_filters(date_from, date_to)
    kind = "stock_in" if book == "stock-in" else "redemption"
    data, filename = ledgers.ledger_xlsx(kind, supermarket, filters)
    path = Path(out_path or filename)
    path.write_bytes(data)
    click.echo(f"已导出 {path}（{filters.date_from} 至 {filters.date_to}）")


# --- the office's reports (kiosk.reports): the workbooks its pages download ------------------


@click.group("report")
def report_group() -> None:
    """The office's spreadsheets, the same workbooks its pages download."""


def _report_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--supermarket", "supermarket_code", default=None, help="超市编号")(fn)
    return click.option(
        "--out", "out_path", default=None, help="保存到的 .xlsx 文件（默认用报表名称）"
    )(fn)


def _save_report(result: tuple[bytes, str], out_path: str | None) -> None:
    from pathlib import Path

    data, filename = result
    path = Path(out_path or filename)
    path.write_bytes(data)
    click.echo(f"已导出 {path}")


def _today() -> date:
    from kiosk.timeutil import local_date, utcnow

    return local_date(utcnow(), current_app.config["JIFEN_TIMEZONE"])


def _day(text: str | None, default: date) -> date:
    from kiosk.errors import ValidationFailed

    if not text:
        return default
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed("日期格式不正确，应为 YYYY-MM-DD") from None


@report_group.command("proposals")
@_report_options
@with_appcontext
@domain_errors
def report_proposals_command(out_path: str | None, supermarket_code: str | None) -> None:
    """The register of proposals (加减分登记台账), pending and decided."""
    from kiosk.reports.intake import proposals_xlsx
    from kiosk.supermarkets import get_supermarket

    _save_report(proposals_xlsx(get_supermarket(supermarket_code)), out_path)


@report_group.command("standards")
@_report_options
@with_appcontext
@domain_errors
def report_standards_command(out_path: str | None, supermarket_code: str | None) -> None:
    """The point standards (积分标准), in use and retired."""
    from kiosk.reports.intake import standards_xlsx
    from kiosk.supermarkets import get_supermarket

    _save_report(standards_xlsx(get_supermarket(supermarket_code)), out_path)


@report_group.command("fund")
@click.argument("book", type=click.Choice(["pool", "donations", "public"]))
@click.option(
    "--from", "date_from", default=None, help="开始日期（基金池默认本月1日，其余默认1月1日）"
)
@click.option("--to", "date_to", default=None, help="结束日期（含当天；默认今天）")
@_report_options
@with_appcontext
@domain_errors
def report_fund_command(
    book: str,
    date_from: str | None,
    date_to: str | None,
    out_path: str | None,
    supermarket_code: str | None,
) -> None:
    """The fund pool's ledger (基金池台账), the donation register (捐赠登记簿) or the donor
    list for public notice (捐赠公示) of a date range."""
    from kiosk.errors import ValidationFailed
    from kiosk.reports import fund as fund_reports
    from kiosk.supermarkets import get_supermarket

    today = _today()
    first = today.replace(day=1) if book == "pool" else today.replace(month=1, day=1)
    start, end = _day(date_from, first), _day(date_to, today)
    if end < start:
        raise ValidationFailed("结束日期不能早于开始日期")
    report = {
        "pool": fund_reports.pool_ledger_xlsx,
        "donations": fund_reports.donations_xlsx,
        "public": fund_reports.public_list_xlsx,
    }[book]
    _save_report(report(get_supermarket(supermarket_code), start, end), out_path)


@report_group.command("visits")
@click.option("--month", default=None, help="月份，例如 2026-11（默认本月）")
@_report_options
@with_appcontext
@domain_errors
def report_visits_command(
    month: str | None, out_path: str | None, supermarket_code: str | None
) -> None:
    """The month's visit list (月记录): every active household, visited or not."""
    from kiosk.reports.visits import month_visits_xlsx
    from kiosk.supermarkets import get_supermarket
    from kiosk.visits import parse_month

    first = parse_month(month, _today())
    _save_report(month_visits_xlsx(get_supermarket(supermarket_code), first), out_path)


@report_group.command("month")
@click.argument("month")
@_report_options
@with_appcontext
@domain_errors
def report_month_command(month: str, out_path: str | None, supermarket_code: str | None) -> None:
    """The month-end report (月结对账表) of MONTH (e.g. 2026-11): as closed, or a preview."""
    from inventory.periods import parse_month
    from kiosk.errors import ValidationFailed
    from kiosk.reports.monthend import month_report_xlsx
    from kiosk.supermarkets import get_supermarket

    try:
        parse_month(month)
    except ValueError:
        raise ValidationFailed("月份应为 YYYY-MM，例如 2026-11") from None
    _save_report(month_report_xlsx(get_supermarket(supermarket_code), month), out_path)


# --- month-end across supermarkets (inventory.monthend) -------------------------------------


@click.group("monthend")
def monthend_group() -> None:
    """Month-end (月结) reports across supermarkets."""


@monthend_group.command("area")
@click.option("--month", required=True, help="月份，例如 2026-10")
@click.option("--town", default=None, help="只看这个镇（街道）的超市，例如 第1镇（默认全县）")
@click.option(
    "--xlsx",
    "xlsx_path",
    default=None,
    type=click.Path(dir_okay=False, writable=True),
    help="另存为 .xlsx 文件",
)
@with_appcontext
@domain_errors
def monthend_area_command(month: str, town: str | None, xlsx_path: str | None) -> None:
    """The month across every supermarket of the county (or of one town): stock, fund pool
    and points tie-out per supermarket, with the totals (月结汇总)."""
    from pathlib import Path

    from inventory.monthend import area_report_xlsx, build_area_report
    from kiosk.formatting import yuan

    report = build_area_report(month, town=town)
    where = town or "全县"
    click.echo(
        f"{where} {month} 月结汇总：{report['supermarkets']} 个超市，"
        f"已结账 {report['closed']} 个（已结账的按结账时保存的报表）"
    )
    for line in report["lines"]:
        sm, stock, fund, tieout = (
            line["supermarket"],
            line["stock"],
            line["fund"],
            line["tieout"],
        )
        state = "已结账" if line["closed"] else "未结账"
        click.echo(
            f"  {sm['code']} {sm['name']}（{state}）：库存 {yuan(stock['opening_value'])} → "
            f"{yuan(stock['closing_value'])} 元，基金池 {yuan(fund['opening'])} → "
            f"{yuan(fund['closing'])} 元，兑换 {tieout['points_net']} 分 折合 "
            f"{yuan(tieout['value_at_rate'])} 元，发出成本 {yuan(tieout['cost_issued'])} 元，"
            f"差额 {yuan(tieout['difference'])} 元（未解释 {yuan(tieout['remainder'])} 元）"
        )
    t = report["totals"]
    stock, fund, tieout = t["stock"], t["fund"], t["tieout"]
    click.echo(
        f"合计：库存 期初 {yuan(stock['opening_value'])} 元，采购 "
        f"{yuan(stock['purchase_value'])} 元，捐赠 {yuan(stock['donation_value'])} 元，兑换出库 "
        f"{yuan(stock['redeemed_value'])} 元，作废退回 {yuan(stock['void_value'])} 元，报损 "
        f"{yuan(stock['adjustment_value'])} 元，盘点差异 {yuan(stock['count_value'])} 元，期末 "
        f"{yuan(stock['closing_value'])} 元"
    )
    click.echo(
        f"合计：基金池 期初 {yuan(fund['opening'])} 元，收入 {yuan(fund['money_in'])} 元，"
        f"支出 {yuan(fund['money_out'])} 元，期末 {yuan(fund['closing'])} 元"
    )
    click.echo(
        f"合计：兑换 {tieout['points_net']} 分，折合 {yuan(tieout['value_at_rate'])} 元，"
        f"发出成本 {yuan(tieout['cost_issued'])} 元，差额 {yuan(tieout['difference'])} 元"
        f"（进位 {yuan(tieout['rounding'])}，免费项目 {yuan(tieout['free_items'])}，价格变动 "
        f"{yuan(tieout['price_changes'])}，跨月 {yuan(tieout['timing'])}，尾差 "
        f"{yuan(tieout['remainder'])}）"
    )
    if xlsx_path:
        data, _name = area_report_xlsx(report)
        Path(xlsx_path).write_bytes(data)
        click.echo(f"已导出 {xlsx_path}")
