"""Pages, API handlers and CLI commands run no query themselves: every read and write goes
through a service (kiosk/, inventory/), so the office, the API and the CLI find the same rows
the same way (the API's household search once did its own ``ilike`` and drifted from the
office's pinyin search).

The scan reads the source (no import): any use of ``db.session`` and any ``select(...)``
(``sa.select``, ``sqlalchemy.select`` or a bare ``select``) and any legacy ``Model.query`` in
kiosk/web, kiosk/api and kiosk/cli.py is a finding, unless ALLOWED names it with the reason.
So is a spreadsheet laid out there (``Sheet(...)``): report layouts live in kiosk/reports/ (and
inventory/), where the pages and the CLI share them.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EDGE = [
    *sorted((ROOT / "kiosk" / "web").glob("*.py")),
    *sorted((ROOT / "kiosk" / "api").glob("*.py")),
    ROOT / "kiosk" / "cli.py",
]

# (file relative to the repository, enclosing function) -> why it may query. Keep it short:
# a new entry needs a reason a reviewer would accept, not "it was easier".
ALLOWED: dict[tuple[str, str], str] = {}


def _dotted(node: ast.AST) -> str:
    """``a.b.c`` for an attribute chain of names, else ''."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


class _Finder(ast.NodeVisitor):
    def __init__(self) -> None:
        self.scope: list[str] = []
        self.found: list[tuple[int, str, str]] = []

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def _add(self, node: ast.AST, what: str) -> None:
        where = self.scope[0] if self.scope else "<module>"
        self.found.append((node.lineno, where, what))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = _dotted(node)
        if name == "db.session" or name.endswith(".db.session"):
            self._add(node, name)
            return  # one finding for db.session.scalars(...), not two
        owner = name.split(".")[-2] if name.count(".") else ""
        if node.attr == "query" and owner[:1].isupper():
            self._add(node, name)  # Model.query, the legacy query API
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        if name in ("select", "sa.select", "sqlalchemy.select", "Sheet", "export.Sheet"):
            self._add(node, name + "(...)")
        self.generic_visit(node)


def findings(source: str) -> list[tuple[int, str, str]]:
    """(line, top-level function, what) for every query the source runs itself."""
    finder = _Finder()
    finder.visit(ast.parse(source))
    return finder.found


def test_the_scan_finds_every_kind_of_query():
    source = """
import sqlalchemy as sa
from sqlalchemy import select

def page():
    a = db.session.get(User, 1)
    b = db.session.scalars(sa.select(User))
    c = select(User)
    d = User.query.all()
    e = extensions.db.session.execute("x")
    f = export.Sheet(title="x", headers=[], rows=[])
    return households.find_household(1), request.args.get("q"), reports.proposals_xlsx(sm)
"""
    assert [(line, what) for line, _, what in findings(source)] == [
        (6, "db.session"),
        (7, "db.session"),
        (7, "sa.select(...)"),
        (8, "select(...)"),
        (9, "User.query"),
        (10, "extensions.db.session"),
        (11, "export.Sheet(...)"),
    ]
    assert {where for _, where, _ in findings(source)} == {"page"}


def test_views_api_and_cli_run_no_query_themselves():
    problems = []
    used = set()
    for path in EDGE:
        rel = path.relative_to(ROOT).as_posix()
        for line, where, what in findings(path.read_text(encoding="utf-8")):
            if (rel, where) in ALLOWED:
                used.add((rel, where))
                continue
            problems.append(f"{rel}:{line} in {where}: {what}")
    assert not problems, (
        "these run a query or lay out a spreadsheet in a view, API handler or CLI command; put "
        "the read in a service function (kiosk/ or inventory/), the layout in a report "
        "function (kiosk/reports/), and call it:\n" + "\n".join(problems)
    )
    assert used == set(ALLOWED), f"allowed but no longer needed: {set(ALLOWED) - used}"
