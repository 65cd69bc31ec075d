"""Rule-set endpoints (issue 3): the policy and its presets, a preview of every household's
standing under a policy at a chosen date, assessments (scores per period), veto records and the
year-end cycle close.

Admins write; supervisors read; keepers read the policy and the preview (what the counter will
say). Each handler parses its input, calls one service and renders JSON.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from flask_babel import gettext
from pydantic import ConfigDict, Field, field_validator

from kiosk import assessments, cycle, vetoes
from kiosk.api import access, answers, contract, outputs
from kiosk.authn import current_supermarket
from kiosk.clock import local_now
from kiosk.errors import NotFound, ValidationFailed
from kiosk.rules import HOLDER_INDIVIDUAL, period_key, policies, policy_io, presets

MAX_TOML_LENGTH = 20_000
MAX_BATCH = 500
MAX_REASON = 200
PRESET_KEYS = tuple(presets.PRESETS)
POLICY_REF = {"allOf": [{"$ref": "#/components/schemas/Policy"}]}


def _one_of_three(schema: dict[str, Any]) -> None:
    """The document says what the handler says: exactly one of the three."""
    schema.pop("properties")
    schema.pop("additionalProperties", None)
    branches = {
        "preset": {"type": "string", "enum": list(PRESET_KEYS)},
        "policy": POLICY_REF,
        "toml": contract.text_schema(MAX_TOML_LENGTH, multiline=True),
    }
    schema["oneOf"] = [
        {
            "type": "object",
            "properties": {key: value},
            "required": [key],
            "additionalProperties": False,
        }
        for key, value in branches.items()
    ]


class PolicyInput(contract.Body):
    """三选一：preset（模板代号）、policy（规则对象）或 toml（规则文本）"""

    model_config = ConfigDict(extra="ignore", json_schema_extra=_one_of_three)

    preset: Annotated[str, contract.Choice(*PRESET_KEYS)] | None = None
    policy: dict[str, Any] | None = None
    toml: Annotated[
        str | None, contract.Text(MAX_TOML_LENGTH, required=False, multiline=True, blank=None)
    ] = None


class PreviewQuery(contract.Query):
    date: Annotated[
        datetime.date | None, contract.Day(required=False, future=True, latest=2100)
    ] = Field(None, description="日期（2000–2100年），默认今天")
    preset: Annotated[str | None, contract.Choice(*PRESET_KEYS)] = Field(
        None, description="按此模板预览（不改变当前规则）"
    )


class PeriodQuery(contract.Query):
    # (None when left out; a null sent is refused, so the type and the document say no null)
    period: contract.Period = Field(None, description="考评期，省略时为本期")  # type: ignore[assignment]


class ScoreLine(contract.Body):
    household_id: contract.ID
    member_id: contract.ID | None = None
    score: Annotated[int, contract.Whole(0, 100)]
    note: Annotated[str, contract.Text(200, required=False, multiline=True)] = ""


class AssessmentInput(ScoreLine):
    period: contract.Period


class AssessmentBatchInput(contract.Body):
    period: contract.Period
    scores: Annotated[list[ScoreLine], Field(min_length=1, max_length=MAX_BATCH)]


class YearQuery(contract.Query):
    year: Annotated[int | None, contract.QueryWhole(2000, 2100)] = Field(
        None, description="年份，省略时列出全部"
    )


class VetoInput(contract.Body):
    household_id: contract.ID
    member_id: contract.ID | None = None
    on: Annotated[datetime.date, contract.Day(description="2000年以后，不能晚于今天")]
    reason: Annotated[str, contract.Text(MAX_REASON, multiline=True)]


class CycleInput(contract.Body):
    year: Annotated[int, contract.Whole(2000)] = Field(description="不能晚于今年")

    @field_validator("year")
    @classmethod
    def _not_after_this_year(cls, value: int) -> int:
        this_year = local_now().year
        if value > this_year:
            raise contract.refusal(gettext("不能大于%(n)s", n=this_year))
        return value


# Policy -------------------------------------------------------------------------------------


@contract.route(
    "GET",
    "/policy",
    summary="当前兑换规则和可选的规则模板",
    tag="rules",
    action="policy.read",
    ok=(200, answers.PolicyInfo, "当前规则"),
)
def get_policy():
    """The supermarket's current policy and the presets it may switch to."""
    policy = policies.policy_for(current_supermarket())
    return {"policy": outputs.policy(policy), "presets": outputs.preset_list()}


def _policy_from_body(body: PolicyInput):
    given = [k for k in ("preset", "policy", "toml") if getattr(body, k) is not None]
    if len(given) != 1:
        raise ValidationFailed(
            gettext(
                "请求内容必须且只能包含 preset（规则模板）、policy（兑换规则）"
                "或 toml（规则文本）之一"
            ),
            field="preset",
        )
    if body.preset is not None:
        return presets.preset(body.preset)
    if body.policy is not None:
        return policy_io.policy_from_dict(body.policy)
    assert body.toml is not None  # the one given (counted above)
    return policy_io.policy_from_toml(body.toml)


@contract.route(
    "PUT",
    "/policy",
    summary="更换兑换规则：选模板，或保存编辑后的规则（JSON 或 TOML）",
    tag="rules",
    action="policy.write",
    body=PolicyInput,
    ok=(200, answers.PolicyResult, "保存后的规则"),
    description="规则先整体校验，出错时返回 invalid_request 和指出字段的中文说明，什么都不改。",
)
def put_policy(body: PolicyInput):
    """Switch to a preset, or save an edited policy (JSON or TOML); validated before saving."""
    policy = _policy_from_body(body)
    saved = policies.set_policy(current_supermarket().id, policy, actor=access.me())
    return {"policy": outputs.policy(saved)}


@contract.route(
    "GET",
    "/policy/preview",
    summary="预览：某一天在当前规则（或某个模板）下每户能否兑换、可兑换多少",
    tag="rules",
    action="policy.read",
    query=PreviewQuery,
    ok=(200, answers.Preview, "每户的情况"),
)
def preview_policy(query: PreviewQuery):
    """Every household's standing under the current policy (or a preset) on a chosen day."""
    supermarket = current_supermarket()
    on = query.date or local_now().date()
    if query.preset is not None:
        policy = presets.preset(query.preset)
    else:
        policy = policies.policy_for(supermarket)
    rows = policies.preview(supermarket.id, policy, on)
    viewer = access.me()
    return {
        "date": on.isoformat(),
        "policy": outputs.policy_brief(policy),
        "households": [outputs.standing(row, viewer) for row in rows],
    }


# Assessments --------------------------------------------------------------------------------


@contract.route(
    "GET",
    "/assessments",
    summary="某考评期的评分记录",
    tag="rules",
    action="rules.read",
    query=PeriodQuery,
    ok=(200, answers.AssessmentList, "评分记录"),
)
def list_assessments(query: PeriodQuery):
    """The scores that count for a period (the latest per household or member); the current
    period when none is given."""
    supermarket = current_supermarket()
    period = query.period
    if period is None:
        policy = policies.policy_for(supermarket)
        period = period_key(local_now().date(), policy.period)
    rows = assessments.list_assessments(supermarket.id, period)
    viewer = access.me()
    return {"period": period, "assessments": [outputs.assessment(r, viewer) for r in rows]}


def _member_of(household_id: int, member_id: int | None, path: str) -> None:
    if member_id is None:
        return
    try:
        member = access.member(member_id)
    except NotFound:
        member = None
    if member is None or member.household_id != household_id:
        raise contract.invalid(path, gettext("不是该户的家庭成员"))


@contract.route(
    "POST",
    "/assessments",
    summary="录入一条评分（更正即再录一条，以最新的为准）",
    tag="rules",
    action="assessment.record",
    body=AssessmentInput,
    ok=(201, answers.AssessmentResult, "新的评分记录"),
    errors=("not_found",),
)
def create_assessment(body: AssessmentInput):
    """Record one score (a correction is a new record; the latest counts)."""
    access.household(body.household_id)
    _member_of(body.household_id, body.member_id, "member_id")
    row = assessments.record_assessment(
        body.household_id,
        body.period,
        body.score,
        member_id=body.member_id,
        note=body.note,
        actor=access.me(),
    )
    return {"assessment": outputs.assessment(row, access.me())}


@contract.route(
    "POST",
    "/assessments/batch",
    summary="批量录入一个考评期的评分（全部成功或全部不录）",
    tag="rules",
    action="assessment.record",
    body=AssessmentBatchInput,
    ok=(201, answers.AssessmentList, "新的评分记录"),
    description="出错时 details.field 指出是第几行（如 scores[2].score）。",
)
def create_assessments(body: AssessmentBatchInput):
    """Record a period's scores for many households or members at once: all or nothing."""
    supermarket = current_supermarket()
    by_member = policies.policy_for(supermarket).holder == HOLDER_INDIVIDUAL
    rows = []
    seen: set[tuple[int, int | None]] = set()
    for i, line in enumerate(body.scores):
        path = f"scores[{i}]"
        household_id, member_id = line.household_id, line.member_id
        try:
            access.household(household_id)
        except NotFound:
            raise contract.invalid(f"{path}.household_id", gettext("不是本超市的户")) from None
        _member_of(household_id, member_id, f"{path}.member_id")
        if by_member and member_id is None:
            raise contract.invalid(f"{path}.member_id", gettext("不能为空：本超市按个人评分"))
        if not by_member and member_id is not None:
            raise contract.invalid(f"{path}.member_id", gettext("应为空：本超市按户评分"))
        if (household_id, member_id) in seen:
            raise contract.invalid(f"{path}.household_id", gettext("在本次提交中重复出现"))
        seen.add((household_id, member_id))
        rows.append(
            assessments.AssessmentInput(
                household_id=household_id, member_id=member_id, score=line.score, note=line.note
            )
        )
    saved = assessments.record_assessments(supermarket.id, body.period, rows, actor=access.me())
    viewer = access.me()
    return {"period": body.period, "assessments": [outputs.assessment(r, viewer) for r in saved]}


# Vetoes -------------------------------------------------------------------------------------


@contract.route(
    "GET",
    "/vetoes",
    summary="一票否决和取消资格记录",
    tag="rules",
    action="rules.read",
    query=YearQuery,
    ok=(200, answers.VetoList, "记录"),
)
def list_vetoes(query: YearQuery):
    """Veto (一票否决) and disqualification (取消资格) records, of one year or all."""
    rows = vetoes.list_vetoes(current_supermarket().id, year=query.year)
    viewer = access.me()
    return {"year": query.year, "vetoes": [outputs.veto(r, viewer) for r in rows]}


@contract.route(
    "POST",
    "/vetoes",
    summary="记录一票否决或取消资格",
    tag="rules",
    action="veto.record",
    body=VetoInput,
    ok=(201, answers.VetoResult, "新的记录"),
    errors=("not_found",),
    description="按规则处理：大同清零当前积分并取消当年兑换资格；寨里当期评分记0分。",
)
def create_veto(body: VetoInput):
    """Record a veto for a household or one of its members, with its day and reason."""
    access.household(body.household_id)
    _member_of(body.household_id, body.member_id, "member_id")
    row = vetoes.record_veto(
        body.household_id,
        on=body.on,
        reason=body.reason,
        member_id=body.member_id,
        actor=access.me(),
    )
    return {"veto": outputs.veto(row, access.me())}


# Cycle --------------------------------------------------------------------------------------


@contract.route(
    "POST",
    "/cycle/close",
    summary="年终结转：按规则清零并发放新一年的基础分",
    tag="rules",
    action="cycle.close",
    body=CycleInput,
    ok=(200, answers.CycleResult, "结转结果"),
    description="同一年只结转一次：再次调用返回第一次的结果，不再记账。",
)
def close_cycle(body: CycleInput):
    """Close a calendar year: expiry and base-grant entries per household; a repeat writes
    nothing and returns the first result."""
    result = cycle.close_cycle(current_supermarket().id, body.year, actor=access.me())
    return {"cycle": outputs.cycle_result(result)}
