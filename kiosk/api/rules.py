"""Rule-set endpoints (issue 3): the policy and its presets, a preview of every household's
standing under a policy at a chosen date, assessments (scores per period), veto records and the
year-end cycle close.

Admins write; supervisors read; keepers read the policy and the preview (what the counter will
say). Each handler parses its input, calls one service and renders JSON.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from kiosk import assessments, cycle, vetoes
from kiosk.api import access, bp, inputs, outputs
from kiosk.authn import current_supermarket, require
from kiosk.clock import local_now
from kiosk.errors import NotFound, ValidationFailed
from kiosk.rules import HOLDER_INDIVIDUAL, period_key, policies, policy_io, presets

MAX_TOML_LENGTH = 20_000
MAX_BATCH = 500

# Policy -------------------------------------------------------------------------------------


@bp.get("/policy")
@require("policy.read")
def get_policy():
    """The supermarket's current policy and the presets it may switch to."""
    policy = policies.policy_for(current_supermarket())
    return jsonify({"policy": outputs.policy(policy), "presets": outputs.preset_list()})


def _policy_from_body(body: dict[str, Any]):
    given = [k for k in ("preset", "policy", "toml") if body.get(k) is not None]
    if len(given) != 1:
        raise ValidationFailed(
            "请求内容必须且只能包含 preset（规则模板）、policy（兑换规则）或 toml（规则文本）之一",
            field="preset",
        )
    key = given[0]
    if key == "preset":
        name = inputs.choice(body, "preset", tuple(presets.PRESETS))
        return presets.preset(name)
    if key == "policy":
        value = body["policy"]
        if not isinstance(value, dict):
            raise inputs.invalid("policy", "必须是JSON对象")
        return policy_io.policy_from_dict(value)
    text = inputs.string(body, "toml", max_len=MAX_TOML_LENGTH)
    return policy_io.policy_from_toml(text)


@bp.put("/policy")
@require("policy.write")
def put_policy():
    """Switch to a preset, or save an edited policy (JSON or TOML); validated before saving."""
    body = inputs.json_body()
    policy = _policy_from_body(body)
    saved = policies.set_policy(current_supermarket().id, policy, actor=access.me())
    return jsonify({"policy": outputs.policy(saved)})


@bp.get("/policy/preview")
@require("policy.read")
def preview_policy():
    """Every household's standing under the current policy (or a preset) on a chosen day."""
    supermarket = current_supermarket()
    on = inputs.query_date("date", default=local_now().date())
    key = (request.args.get("preset") or "").strip()
    if key:
        policy = presets.preset(inputs.choice({"preset": key}, "preset", tuple(presets.PRESETS)))
    else:
        policy = policies.policy_for(supermarket)
    rows = policies.preview(supermarket.id, policy, on)
    viewer = access.me()
    return jsonify(
        {
            "date": on.isoformat(),
            "policy": outputs.policy_brief(policy),
            "households": [outputs.standing(row, viewer) for row in rows],
        }
    )


# Assessments --------------------------------------------------------------------------------


@bp.get("/assessments")
@require("rules.read")
def list_assessments():
    """The scores that count for a period (the latest per household or member); the current
    period when none is given."""
    supermarket = current_supermarket()
    if request.args.get("period"):
        period = inputs.query_period()
    else:
        policy = policies.policy_for(supermarket)
        period = period_key(local_now().date(), policy.period)
    rows = assessments.list_assessments(supermarket.id, period)
    viewer = access.me()
    return jsonify({"period": period, "assessments": [outputs.assessment(r, viewer) for r in rows]})


def _member_of(household_id: int, member_id: int | None, path: str) -> None:
    if member_id is None:
        return
    try:
        member = access.member(member_id)
    except NotFound:
        member = None
    if member is None or member.household_id != household_id:
        raise inputs.invalid(path, "不是该户的家庭成员")


@bp.post("/assessments")
@require("assessment.record")
def create_assessment():
    """Record one score (a correction is a new record; the latest counts)."""
    body = inputs.json_body()
    period = inputs.period(body)
    household_id = inputs.integer(body, "household_id", minimum=1)
    member_id = inputs.integer(body, "member_id", minimum=1, required=False)
    score = inputs.integer(body, "score", minimum=0, maximum=100)
    note = inputs.string(body, "note", required=False, max_len=200)
    access.household(household_id)
    _member_of(household_id, member_id, "member_id")
    row = assessments.record_assessment(
        household_id, period, score, member_id=member_id, note=note, actor=access.me()
    )
    return jsonify({"assessment": outputs.assessment(row, access.me())}), 201


@bp.post("/assessments/batch")
@require("assessment.record")
def create_assessments():
    """Record a period's scores for many households or members at once: all or nothing."""
    body = inputs.json_body()
    period = inputs.period(body)
    supermarket = current_supermarket()
    by_member = policies.policy_for(supermarket).holder == HOLDER_INDIVIDUAL
    rows = []
    seen: set[tuple[int, int | None]] = set()
    for i, raw in enumerate(inputs.object_list(body, "scores", max_items=MAX_BATCH)):
        path = f"scores[{i}]"
        household_id = inputs.integer(raw, "household_id", minimum=1, path=f"{path}.household_id")
        member_id = inputs.integer(
            raw, "member_id", minimum=1, required=False, path=f"{path}.member_id"
        )
        score = inputs.integer(raw, "score", minimum=0, maximum=100, path=f"{path}.score")
        note = inputs.string(raw, "note", required=False, max_len=200, path=f"{path}.note")
        try:
            access.household(household_id)
        except NotFound:
            raise inputs.invalid(f"{path}.household_id", "不是本超市的户") from None
        _member_of(household_id, member_id, f"{path}.member_id")
        if by_member and member_id is None:
            raise inputs.invalid(f"{path}.member_id", "不能为空：本超市按个人评分")
        if not by_member and member_id is not None:
            raise inputs.invalid(f"{path}.member_id", "应为空：本超市按户评分")
        if (household_id, member_id) in seen:
            raise inputs.invalid(f"{path}.household_id", "在本次提交中重复出现")
        seen.add((household_id, member_id))
        rows.append(
            assessments.AssessmentInput(
                household_id=household_id, member_id=member_id, score=score, note=note
            )
        )
    if not rows:
        raise inputs.invalid("scores", "不能为空")
    saved = assessments.record_assessments(supermarket.id, period, rows, actor=access.me())
    viewer = access.me()
    return jsonify(
        {"period": period, "assessments": [outputs.assessment(r, viewer) for r in saved]}
    ), 201


# Vetoes -------------------------------------------------------------------------------------


@bp.get("/vetoes")
@require("rules.read")
def list_vetoes():
    """Veto (一票否决) and disqualification (取消资格) records, of one year or all."""
    year = inputs.query_int("year", default=0, minimum=2000, maximum=2100) or None
    rows = vetoes.list_vetoes(current_supermarket().id, year=year)
    viewer = access.me()
    return jsonify({"year": year, "vetoes": [outputs.veto(r, viewer) for r in rows]})


@bp.post("/vetoes")
@require("veto.record")
def create_veto():
    """Record a veto for a household or one of its members, with its day and reason."""
    body = inputs.json_body()
    household_id = inputs.integer(body, "household_id", minimum=1)
    member_id = inputs.integer(body, "member_id", minimum=1, required=False)
    on = inputs.a_date(body, "on")
    reason = inputs.string(body, "reason", max_len=200)
    access.household(household_id)
    _member_of(household_id, member_id, "member_id")
    row = vetoes.record_veto(
        household_id, on=on, reason=reason, member_id=member_id, actor=access.me()
    )
    return jsonify({"veto": outputs.veto(row, access.me())}), 201


# Cycle --------------------------------------------------------------------------------------


@bp.post("/cycle/close")
@require("cycle.close")
def close_cycle():
    """Close a calendar year: expiry and base-grant entries per household; a repeat writes
    nothing and returns the first result."""
    body = inputs.json_body()
    year = inputs.integer(body, "year", minimum=2000, maximum=local_now().year)
    result = cycle.close_cycle(current_supermarket().id, year, actor=access.me())
    return jsonify({"cycle": outputs.cycle_result(result)})
