"""The permission map (kiosk.permissions): its shape, the rules it states, and that it is the
only place a group of roles is written down."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from kiosk import permissions
from kiosk.api.outputs import sees_full_names
from kiosk.models import ROLES, User

ROOT = Path(__file__).resolve().parents[2]
K, A, S, R = "keeper", "admin", "supervisor", "recorder"
# Actions that only read: a supervisor (监督小组) holds these and nothing else but the sign-off.
READS = re.compile(r"\.(read|lookup|review|see_book)$|^product\.settings\.read$")


def test_every_action_names_known_roles_once():
    for action in permissions.ACTIONS.values():
        assert action.roles, action.name
        assert set(action.roles) <= set(ROLES), action.name
        assert len(set(action.roles)) == len(action.roles), action.name
        assert action.about, action.name


def test_an_unknown_action_fails_loudly():
    with pytest.raises(KeyError):
        permissions.roles_for("household.delete")
    with pytest.raises(KeyError):
        permissions.allows(None, "household.delete")


def test_supervisors_read_everything_and_write_only_their_stocktake_sign_off():
    held = {a.name for a in permissions.ACTIONS.values() if S in a.roles}
    writes = {name for name in held if not READS.search(name)}
    assert writes == {"stocktake.sign_off"}
    # ... and every read anyone has, they have too: the supervision group sees everything.
    reads = {a.name for a in permissions.ACTIONS.values() if READS.search(a.name)}
    assert reads <= held


def test_recorders_propose_points_and_read_visits_nothing_else():
    held = {a.name for a in permissions.ACTIONS.values() if R in a.roles}
    assert held == {"proposal.create", "visit.read"}


def test_keepers_count_blind_and_award_nothing():
    held = {a.name for a in permissions.ACTIONS.values() if K in a.roles}
    assert "stocktake.see_book" not in held
    assert not held & {"proposal.create", "proposal.decide", "points.enter", "household.manage"}


@pytest.mark.parametrize("role", ROLES)
def test_full_names_follow_the_household_file(role):
    """The READERS disagreement, resolved: the office's household pages (admins, supervisors)
    and the API's lookup (keepers too, for the counter) are two actions; who may read the
    household file sees full names over the API, everyone else masked ones."""
    user = User(username="u", display_name="u", role=role)
    assert sees_full_names(user) == permissions.allows(user, "household.read")
    assert set(permissions.roles_for("household.read")) <= set(
        permissions.roles_for("household.lookup")
    )
    assert permissions.allows(user, "household.lookup") == (role != R)


def test_nobody_may_do_anything():
    assert not any(permissions.allows(None, name) for name in permissions.ACTIONS)


def test_one_scope_rule():
    """A row of the supermarket one works for, or of none (a user bound to no supermarket), is
    visible; any other supermarket's row is not, whoever asks."""
    assert permissions.sees(1, 1)
    assert permissions.sees(None, 1)
    assert not permissions.sees(2, 1)


# No role group outside the map ----------------------------------------------------------------

ROLE_VALUES = set(ROLES)
MAP = ROOT / "kiosk" / "permissions.py"
MODELS = ROOT / "kiosk" / "models.py"


def _is_role(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id.startswith("ROLE_")
    if isinstance(node, ast.Attribute):
        return node.attr.startswith("ROLE_") or (
            isinstance(node.value, ast.Name) and node.value.id == "Role"
        )
    return isinstance(node, ast.Constant) and node.value in ROLE_VALUES


def _role_groups(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    # models.py lists the roles there are (ROLES = ...); that list is not a permission.
    exempt = {
        id(node.value)
        for node in ast.walk(tree)
        if path == MODELS
        and isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "ROLES" for t in node.targets)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in exempt:
            continue
        if (
            isinstance(node, (ast.Tuple, ast.List, ast.Set))
            and node.elts
            and all(_is_role(e) for e in node.elts)
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _sources() -> list[Path]:
    paths = []
    for package in ("kiosk", "inventory", "hardware", "bench"):
        paths += sorted((ROOT / package).rglob("*.py"))
    return [p for p in paths if p != MAP and "migrations" not in p.parts]


def test_no_role_group_outside_the_permission_map():
    """Who may do what is said once: a tuple, list or set made only of roles anywhere in the
    code (``(ROLE_KEEPER, ROLE_ADMIN)``, ``user.role in ("admin", "supervisor")``) is a second
    copy of the map that will drift from it; name an action in kiosk/permissions.py instead."""
    found = [hit for path in _sources() for hit in _role_groups(path)]
    assert found == []


def test_no_role_group_in_the_templates():
    """Templates ask ``may(action)`` or ``may_open(endpoint)``, never a list of roles."""
    group = re.compile(r"\.role\s+(not\s+)?in\s*[(\[]")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if group.search(line)
    ]
    assert found == []


def test_the_role_group_finder_finds_them():
    """The check above would see a group written in any of the usual ways."""
    source = "A = (ROLE_KEEPER, ROLE_ADMIN)\nok = user.role in ('admin', 'supervisor')\n"
    tree = ast.parse(source)
    groups = [n for n in ast.walk(tree) if isinstance(n, ast.Tuple) and all(map(_is_role, n.elts))]
    assert len(groups) == 2
