"""The office pages' tabs (管理), grouped by job, each shown to the roles that may open it.

A page appears once its view exists, so each area registers its tabs here by endpoint and a
tab never points at a page that is not there.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from flask_babel import lazy_gettext

from kiosk.models import ROLE_ADMIN, ROLE_KEEPER, ROLE_SUPERVISOR, User

K, A, S = ROLE_KEEPER, ROLE_ADMIN, ROLE_SUPERVISOR
HOME = "counter.home"  # 首页: every role's to-dos (kiosk.home), linked from every office page


@dataclass(frozen=True)
class Tab:
    endpoint: str
    label: object  # a lazy string
    roles: frozenset[str]


def _tab(endpoint: str, label: object, *roles: str) -> Tab:
    return Tab(endpoint, label, frozenset(roles))


GROUPS: list[tuple[object, list[Tab]]] = [
    (
        lazy_gettext("规则"),
        [
            _tab("admin.index", lazy_gettext("总览"), A, S),
            _tab("admin.policy_page", lazy_gettext("兑换规则"), A, S),
            _tab("admin.preview_page", lazy_gettext("预览各户"), A, S),
            _tab("admin.assessments_page", lazy_gettext("评分录入"), A, S),
            _tab("admin.vetoes_page", lazy_gettext("一票否决"), A, S),
        ],
    ),
    (
        lazy_gettext("户与积分"),
        [
            _tab("households.index_page", lazy_gettext("户与积分卡"), A, S),
            _tab("intake.index_page", lazy_gettext("积分录入"), A, S),
            _tab("intake.import_page", lazy_gettext("导入"), A, S),
            _tab("notice.index_page", lazy_gettext("公示"), A, S),
        ],
    ),
    (
        lazy_gettext("库存与账目"),
        [
            _tab("stock.stock_in_page", lazy_gettext("入库"), K, A, S),
            _tab("admin.products_page", lazy_gettext("商品设置"), A, S),
            _tab("stock.adjustments_page", lazy_gettext("报损"), K, A, S),
            _tab("stock.ledgers_page", lazy_gettext("台账"), K, A, S),
            _tab("fund.index_page", lazy_gettext("捐赠与基金池"), K, A, S),
            _tab("stocktake.index_page", lazy_gettext("盘点"), K, A, S),
            _tab("monthend.index_page", lazy_gettext("月结"), K, A, S),
        ],
    ),
    (
        lazy_gettext("监督"),
        [
            _tab("audit.index_page", lazy_gettext("操作日志"), A, S),
            _tab("users.index_page", lazy_gettext("用户"), A, S),
        ],
    ),
    (
        lazy_gettext("设备"),
        [
            _tab("admin.printer_page", lazy_gettext("打印机"), K, A, S),
            _tab("device.page", lazy_gettext("设备状态"), K, A, S),
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
            (t.endpoint, t.label) for t in tabs if user.role in t.roles and t.endpoint in views
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
    app.jinja_env.globals["office_nav"] = office_nav
