"""The administration pages for the rule sets (规则管理): the policy, a preview of every
household's standing, the assessments grid and the veto records; the products' rule-linked
settings (商品设置: goods or service, restricted items such as 寨里's 长者食堂); and the printer
page (打印机), which keepers use too: the printer's state, a test page and the receipts that did
not print.

Admins change things; supervisors see the same pages read-only. The pages are rendered here
from the services; every change goes through the JSON API (``static/js/admin.js`` with the
session cookie and the ``X-CSRFToken`` header), so the pages and any other client share one path.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from hardware import printers
from inventory import products
from inventory.donations import fen_from_yuan
from inventory.models import KIND_SERVICE, Product
from kiosk import (
    assessments,
    households,
    parsing,
    printer_settings,
    printing,
    redemption,
    rules,
    vetoes,
)
from kiosk.authn import current_supermarket, current_user, may, require
from kiosk.clock import local_now
from kiosk.errors import DomainError, NotFound, ValidationFailed
from kiosk.formatting import rule_term
from kiosk.messages import LIST_SEPARATOR, WORD_SEPARATOR
from kiosk.models import Household, Member
from kiosk.rules import Policy, policies, policy_io, presets
from kiosk.web.forms import ProductSettingsForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _context(**extra: Any) -> dict[str, Any]:
    user = current_user()
    return {
        "supermarket": current_supermarket(),
        "user": user,
        "can_edit": may("policy.write"),
        **extra,
    }


def _number(value: Fraction) -> str:
    """1/10 as "0.1", 2 as "2"."""
    return f"{float(value):g}"


def describe(policy: Policy) -> list[str]:
    """The policy in plain Chinese sentences, one rule each, as a committee would read it."""
    s: list[str] = []
    if policy.holder == rules.HOLDER_INDIVIDUAL:
        s.append(gettext("评分到人：每位家庭成员单独评分，兑换额度合计到户。"))
    else:
        s.append(gettext("积分按户计算。"))
    s.append(gettext("1元的物品需要%(n)s积分。", n=policy.points_per_yuan))
    if policy.spend == rules.SPEND_QUOTA:
        s.append(gettext("兑换只用本期额度，不扣评分。"))
    else:
        s.append(gettext("兑换时从积分余额中扣分。"))
    if policy.reserved_base:
        s.append(gettext("基础分%(n)s分不能兑换，只能兑换超出的部分。", n=policy.reserved_base))
    if policy.base_grant:
        s.append(gettext("每个周期开始时，每户发放基础分%(n)s分。", n=policy.base_grant))
    if policy.cycle == rules.CYCLE_YEAR:
        s.append(gettext("积分以每年为一个周期，次年重新积分。"))
    else:
        s.append(gettext("未兑换的积分滚动结存，可累计到以后。"))
    period = gettext("季度") if policy.period == rules.PERIOD_QUARTER else gettext("月")
    s.append(gettext("每%(period)s考评一次，评分0到100分。", period=period))
    if policy.gate is not None:
        s.append(
            gettext(
                "连续%(n)s个考评期评分都达到%(score)s分以上，才能兑换。",
                n=policy.gate.consecutive_periods,
                score=policy.gate.min_score,
            )
        )
    if policy.conversion is not None:
        ratio = Fraction(policy.conversion.numerator, policy.conversion.denominator)
        s.append(gettext("评分平均值每1分折换成积分%(x)s分，计入积分账户。", x=_number(ratio)))
    if policy.tiers:
        parts = []
        for tier in policy.tiers:
            span = {"tier": rule_term(tier.name), "lo": tier.min_value, "hi": tier.max_value}
            if policy.tier_basis == rules.TIER_BY_SCORE:
                part = gettext("%(tier)s %(lo)s–%(hi)s分", **span)
            else:
                part = gettext("%(tier)s %(lo)s–%(hi)s积分", **span)
            if tier.quota_yuan is not None:
                part += gettext("，每期可兑换%(n)s元", n=tier.quota_yuan)
            parts.append(part)
        basis = (
            gettext("按评分分级")
            if policy.tier_basis == rules.TIER_BY_SCORE
            else gettext("按积分分级")
        )
        s.append(
            gettext("%(basis)s：%(tiers)s。", basis=basis, tiers=str(LIST_SEPARATOR).join(parts))
        )
    window = policy.window
    if window.kind == rules.WINDOW_MONTHS:
        months = str(WORD_SEPARATOR).join(str(m) for m in window.months)
        s.append(gettext("每年%(months)s月可以兑换，其他月份不能兑换。", months=months))
    elif window.kind == rules.WINDOW_LAST_MARKET_DAY:
        days = str(WORD_SEPARATOR).join(str(d) for d in window.market_days)
        if window.every_months > 1:
            s.append(
                gettext(
                    "每%(n)s个月兑换一次，在当月最后一个赶场天（赶场日：每月%(days)s日）。",
                    n=window.every_months,
                    days=days,
                )
            )
        else:
            s.append(gettext("每月最后一个赶场天兑换（赶场日：每月%(days)s日）。", days=days))
    else:
        s.append(gettext("随时可以兑换。"))
    if policy.veto == rules.VETO_CLEAR_AND_BAR_YEAR:
        s.append(gettext("一票否决：清零当前积分，并取消当年兑换资格。"))
    elif policy.veto == rules.VETO_ZERO_SCORE_PERIOD:
        s.append(gettext("取消资格：当期评分记为0分，取消当期一切兑换权益。"))
    for r in policy.restrictions:
        limits = []
        if r.min_age is not None or r.max_age is not None:
            limits.append(
                gettext("%(lo)s–%(hi)s岁", lo=r.min_age or 0, hi=r.max_age or gettext("不限"))
            )
        if r.min_score is not None:
            limits.append(gettext("评分%(n)s分以上", n=r.min_score))
        if r.min_tier:
            limits.append(gettext("%(tier)s及以上", tier=r.min_tier))
        text = rule_term(r.label)
        if limits:
            text = gettext(
                "%(item)s：%(limits)s", item=text, limits=str(WORD_SEPARATOR).join(limits)
            )
        if r.free:
            text += gettext("，免费")
        if r.per_period_limit:
            text += gettext("，每期每人限%(n)s次", n=r.per_period_limit)
        s.append(gettext("%(sentence)s。", sentence=text))
    return s


def _households() -> list[Household]:
    return households.list_households(current_supermarket().id)


@bp.get("")
@require("rules.read", page=True)
def index() -> str:
    """The hub: what the supermarket runs now, and the four rule pages."""
    policy = policies.policy_for(current_supermarket())
    return render_template("admin/index.html", **_context(policy=policy))


@bp.get("/policy")
@require("rules.read", page=True)
def policy_page() -> str:
    """The current policy in sentences, the presets, and its parameters to edit."""
    policy = policies.policy_for(current_supermarket())
    return render_template(
        "admin/policy.html",
        **_context(
            policy=policy,
            sentences=describe(policy),
            policy_data=policy_io.policy_to_dict(policy),
            policy_toml=policy_io.policy_to_toml(policy),
            labels=policy_io.field_labels(),
            choices=policy_io.choice_words(),
            preset_choices=[(key, p, describe(p)) for key, p in presets.PRESETS.items()],
        ),
    )


@bp.get("/preview")
@require("rules.read", page=True)
def preview_page() -> str:
    """Every household's standing on a chosen day, under the current policy or a preset."""
    supermarket = current_supermarket()
    error = None
    on = local_now().date()
    raw = (request.args.get("date") or "").strip()
    if raw:
        try:
            on = date.fromisoformat(raw)
        except ValueError:
            error = gettext("日期格式不正确，应为 YYYY-MM-DD")
    key = (request.args.get("preset") or "").strip()
    if key and key not in presets.PRESETS:
        error, key = gettext("没有这个规则模板"), ""
    policy = presets.preset(key) if key else policies.policy_for(supermarket)
    rows = policies.preview(supermarket.id, policy, on)
    return render_template(
        "admin/preview.html",
        **_context(
            policy=policy,
            on=on,
            preset_key=key,
            presets=presets.PRESETS,
            rows=rows,
            error=error,
            may_count=sum(1 for r in rows if r.decision.may_redeem),
        ),
    )


@bp.get("/assessments")
@require("rules.read", page=True)
def assessments_page() -> str:
    """The scores of a period as a grid of households (and members when scores are per
    person), one number each, saved in one batch."""
    supermarket = current_supermarket()
    policy = policies.policy_for(supermarket)
    today = local_now().date()
    current = rules.period_key(today, policy.period)
    period = (request.args.get("period") or "").strip().upper() or current
    error = None
    try:
        period = assessments.validate_period(period, policy)
    except ValidationFailed as exc:
        error, period = exc.message, current
    rows = assessments.list_assessments(supermarket.id, period)
    latest: dict[tuple[int, int | None], Any] = {}
    for row in sorted(rows, key=lambda r: r.id):
        latest[(row.household_id, row.member_id)] = row
    periods = [current]
    for _ in range(5):
        periods.append(rules.previous_period(periods[-1]))
    by_member = policy.holder == rules.HOLDER_INDIVIDUAL
    grid: list[tuple[Household, Member | None, Any]] = []
    for household in _households():
        if by_member:
            for member in household.members:
                if member.active:
                    grid.append((household, member, latest.get((household.id, member.id))))
        else:
            grid.append((household, None, latest.get((household.id, None))))
    return render_template(
        "admin/assessments.html",
        **_context(
            policy=policy,
            period=period,
            periods=periods,
            grid=grid,
            by_member=by_member,
            error=error,
        ),
    )


@bp.get("/vetoes")
@require("rules.read", page=True)
def vetoes_page() -> str:
    """Record a veto; this year's records."""
    supermarket = current_supermarket()
    policy = policies.policy_for(supermarket)
    today = local_now().date()
    year = today.year
    year = parsing.optional_int(request.args.get("year"), minimum=2000, maximum=2100) or year
    homes = _households()
    members = {
        h.id: [{"id": m.id, "name": m.name, "relation": m.relation} for m in h.members if m.active]
        for h in homes
    }
    return render_template(
        "admin/vetoes.html",
        **_context(
            policy=policy,
            year=year,
            today=today,
            households=homes,
            members=members,
            records=vetoes.list_vetoes(supermarket.id, year=year),
        ),
    )


@bp.get("/printer")
@require("printer.read", page=True)
def printer_page() -> str:
    """The printer (打印机): its settings, its state now, a test page, and the jobs that did not
    print with a one-tap resend. Keepers and admins operate it; supervisors read it; admins
    change its settings."""
    supermarket = current_supermarket()
    config = printing.printer_config()
    jobs = printing.unprinted_jobs(supermarket.id)
    numbers = redemption.receipt_numbers(job.redemption_id for job in jobs)
    context = _context(
        printer=config,
        status=printing.printer_status(timeout=1.0),
        jobs=jobs,
        receipt_numbers=numbers,
        max_attempts=printing.DEFAULT_MAX_ATTEMPTS,
    )
    context["can_edit"] = may("printer.operate")
    # The settings belong to this kiosk (instance/printer.json); only admins change them.
    context["can_configure"] = may("printer.configure")
    context["described"] = printers.describe(config)
    context["profiles"] = printer_settings.profile_names() if context["can_configure"] else ()
    context["baudrates"] = printer_settings.BAUDRATES
    return render_template("admin/printer.html", **context)


# Products' rule-linked settings (商品设置) -------------------------------------------------------


def _product_or_404(product_id: int) -> Product:
    try:
        return products.get_product(current_supermarket().id, product_id)
    except NotFound:
        abort(404)


def _restriction_choices(policy: Policy) -> list[tuple[str, str]]:
    return [(r.key, r.label) for r in policy.restrictions]


@bp.get("/products")
@require("product.settings.read", page=True)
def products_page() -> str:
    """Every product with what the rule set makes of it: goods or service, restricted to whom,
    its points price; each opens its settings."""
    supermarket = current_supermarket()
    policy = policies.policy_for(supermarket)
    return render_template(
        "admin/products.html",
        **_context(
            products=products.all_products(supermarket.id),
            policy=policy,
            restrictions=dict(_restriction_choices(policy)),
        ),
    )


def _product_form_page(product: Product, form: dict[str, str], error: str | None = None):
    policy = policies.policy_for(current_supermarket())
    return render_template(
        "admin/product.html",
        **_context(
            product=product,
            form=form,
            error=error,
            policy=policy,
            restriction_choices=_restriction_choices(policy),
        ),
    )


@bp.get("/products/<int:product_id>")
@require("product.settings.read", page=True)
def product_page(product_id: int) -> str:
    """One product's settings: name, unit, goods or service, restriction, service price."""
    product = _product_or_404(product_id)
    form = {
        "name": product.name,
        "unit": product.unit,
        "kind": product.kind,
        "restriction_key": product.restriction_key or "",
        "price": f"{product.unit_cost_fen // 100}.{product.unit_cost_fen % 100:02d}",
        "active": "1" if product.active else "0",
    }
    return _product_form_page(product, form)


@bp.post("/products/<int:product_id>")
@require("product.manage", page=True)
def save_product(product_id: int) -> Any:
    """Save the settings through inventory.products.update_product; a refusal keeps the form."""
    product = _product_or_404(product_id)
    form = ProductSettingsForm(formdata=request.form)
    changes: dict[str, Any] = {
        "name": form.name.data or "",
        "unit": form.unit.data or "",
        "kind": form.kind.data or "",
        "restriction_key": form.restriction_key.data or None,
        "active": form.active.data,
    }
    try:
        form.checked()
        if changes["kind"] == KIND_SERVICE:
            cost = fen_from_yuan(form.price.data or "", gettext("服务价格"))
            if cost != product.unit_cost_fen or product.kind != KIND_SERVICE:
                changes["unit_cost_fen"] = cost
        product = products.update_product(
            product.supermarket_id, product.id, actor=current_user(), **changes
        )
    except DomainError as exc:
        shown = form.typed()
        return _product_form_page(_product_or_404(product_id), shown, exc.message), exc.status
    flash(gettext("已保存：%(name)s", name=product.name), "ok")
    return redirect(url_for("admin.products_page"))
