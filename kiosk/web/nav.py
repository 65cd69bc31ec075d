"""The office pages' tabs (管理), grouped by job, each shown to whoever may open its page.

A page appears once its view exists, so each area registers its tabs here by endpoint and a
tab never points at a page that is not there; it shows to whoever the permission map lets
open that page (the action its view names), so a tab and its page never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from flask_babel import lazy_gettext

from kiosk.authn import may, may_open
from kiosk.models import User

HOME = "counter.home"  # 首页: every role's to-dos (kiosk.home), linked from every office page


@dataclass(frozen=True)
class Tab:
    endpoint: str
    label: object  # a lazy string


GROUPS: list[tuple[object, list[Tab]]] = [
    (
        lazy_gettext("规则"),
        [
            Tab("admin.index", lazy_gettext("总览")),
            Tab("admin.policy_page", lazy_gettext("兑换规则")),
            Tab("admin.preview_page", lazy_gettext("预览各户")),
            Tab("admin.assessments_page", lazy_gettext("评分录入")),
            Tab("admin.vetoes_page", lazy_gettext("一票否决")),
        ],
    ),
    (
        lazy_gettext("户与积分"),
        [
            Tab("households.index_page", lazy_gettext("户与积分卡")),
            Tab("intake.index_page", lazy_gettext("积分录入")),
            Tab("intake.import_page", lazy_gettext("导入")),
            Tab("notice.index_page", lazy_gettext("公示")),
        ],
    ),
    (
        lazy_gettext("库存与账目"),
        [
            Tab("stock.stock_in_page", lazy_gettext("入库")),
            Tab("admin.products_page", lazy_gettext("商品设置")),
            Tab("stock.adjustments_page", lazy_gettext("报损")),
            Tab("stock.ledgers_page", lazy_gettext("台账")),
            Tab("fund.index_page", lazy_gettext("捐赠与基金池")),
            Tab("stocktake.index_page", lazy_gettext("盘点")),
            Tab("monthend.index_page", lazy_gettext("月结")),
        ],
    ),
    (
        lazy_gettext("监督"),
        [
            Tab("audit.index_page", lazy_gettext("操作日志")),
            Tab("users.index_page", lazy_gettext("用户")),
        ],
    ),
    (
        lazy_gettext("设备"),
        [
            Tab("admin.printer_page", lazy_gettext("打印机")),
            Tab("device.page", lazy_gettext("设备状态")),
        ],
    ),
]


@dataclass(frozen=True)
class NavGroup:
    label: object
    items: list[tuple[str, object]]  # (endpoint, label)
    active: bool
    current: str | None = None  # the tab to highlight: this page's, or its area's first


def office_nav(user: User | None, here: str | None = None) -> list[NavGroup]:
    """The groups of tabs this user may open, leaving out pages not (yet) registered.

    Two rows on screen whatever the role: the groups, then the tabs of the group the page
    ``here`` belongs to (a 1024×600 screen has no room for every tab at once).
    """
    if user is None:
        return []
    views = current_app.view_functions
    groups = []
    for label, tabs in GROUPS:
        items = [
            (t.endpoint, t.label)
            for t in tabs
            if t.endpoint in views and may_open(t.endpoint, user)
        ]
        if items:
            active = here is not None and any(endpoint == here for endpoint, _ in items)
            groups.append(NavGroup(label, items, active))
    if here == HOME:
        return groups  # the home page: the groups only, its tiles are the second level
    prefix = (here or "").split(".")[0] + "."
    # A detail page belongs to the tab named like it (admin.product_page → admin.products_page).
    stem = (here or "").removesuffix("_page")
    if here and stem != here and not any(g.active for g in groups):
        for i, g in enumerate(groups):
            if not g.active and any(endpoint.startswith(stem) for endpoint, _ in g.items):
                groups[i] = NavGroup(g.label, g.items, True)
                prefix = stem
                break
    if groups and not any(g.active for g in groups):
        # A page outside the tabs (a detail page): its blueprint's group, else the first.
        for i, g in enumerate(groups):
            if any(endpoint.startswith(prefix) for endpoint, _ in g.items):
                groups[i] = NavGroup(g.label, g.items, True)
                break
        else:
            groups[0] = NavGroup(groups[0].label, groups[0].items, True)
    for i, g in enumerate(groups):
        if g.active:
            endpoints = [endpoint for endpoint, _ in g.items]
            current = here if here in endpoints else None
            if current is None:
                current = next((e for e in endpoints if e.startswith(prefix)), None)
            groups[i] = NavGroup(g.label, g.items, True, current)
    return groups


def register_nav(app: Flask) -> None:
    """The templates' helpers: the office's tabs, and ``may``/``may_open`` from the map."""
    app.jinja_env.globals.update(office_nav=office_nav, may=may, may_open=may_open)
