"""The office pages' tabs (管理), grouped by job, each shown to the roles that may open it.

A page appears once its view exists, so each area registers its tabs here by endpoint and a
tab never points at a page that is not there.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from kiosk.models import ROLE_ADMIN, ROLE_KEEPER, ROLE_SUPERVISOR, User

K, A, S = ROLE_KEEPER, ROLE_ADMIN, ROLE_SUPERVISOR


@dataclass(frozen=True)
class Tab:
    endpoint: str
    label: object  # a lazy string
    roles: frozenset[str]


def _tab(endpoint: str, label: object, *roles: str) -> Tab:
    return Tab(endpoint, label, frozenset(roles))


GROUPS: list[tuple[object, list[Tab]]] = [
    (
        _l("规则"),
        [
            _tab("admin.index", _l("总览"), A, S),
            _tab("admin.policy_page", _l("兑换规则"), A, S),
            _tab("admin.preview_page", _l("预览各户"), A, S),
            _tab("admin.assessments_page", _l("评分录入"), A, S),
            _tab("admin.vetoes_page", _l("一票否决"), A, S),
        ],
    ),
    (
        _l("户与积分"),
        [
            _tab("households.index_page", _l("户与积分卡"), A, S),
            _tab("intake.index_page", _l("积分录入"), A, S),
            _tab("intake.import_page", _l("导入"), A, S),
            _tab("notice.index_page", _l("公示"), A, S),
        ],
    ),
    (
        _l("库存与账目"),
        [
            _tab("stock.stock_in_page", _l("入库"), K, A, S),
            _tab("stock.adjustments_page", _l("报损"), K, A, S),
            _tab("stock.ledgers_page", _l("台账"), K, A, S),
            _tab("fund.index_page", _l("捐赠与基金池"), K, A, S),
            _tab("stocktake.index_page", _l("盘点"), K, A, S),
            _tab("monthend.index_page", _l("月结"), K, A, S),
        ],
    ),
    (
        _l("监督"),
        [
            _tab("audit.index_page", _l("操作日志"), A, S),
            _tab("users.index_page", _l("用户"), A, S),
        ],
    ),
    (
        _l("设备"),
        [_tab("admin.printer_page", _l("打印机"), K, A, S)],
    ),
]


def office_nav(user: User | None) -> list[tuple[object, list[tuple[str, object]]]]:
    """The groups of tabs this user may open, leaving out pages not (yet) registered."""
    if user is None:
        return []
    views = current_app.view_functions
    groups = []
    for label, tabs in GROUPS:
        items = [
            (t.endpoint, t.label) for t in tabs if user.role in t.roles and t.endpoint in views
        ]
        if items:
            groups.append((label, items))
    return groups


def register_nav(app: Flask) -> None:
    app.jinja_env.globals["office_nav"] = office_nav
