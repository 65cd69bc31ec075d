"""A bounded schemathesis run over /api/v1/openapi.json (issue 16's guard): every operation,
with schema-valid and schema-violating requests as an admin, schema-valid ones as a keeper, and
short stateful walks along the links schemathesis infers (a household made, then read, ...), on
SQLite and on PostgreSQL. It fails on any 5xx, on an answer whose status or body the document
does not promise, and on a schema-violating request that is accepted.

Bounded so CI stays fast and the run is repeatable: a few examples per operation, derandomized
(the same requests every run), no shrinking, and no example database.
"""

from __future__ import annotations

import re
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from kiosk import auth, clock, notice, rules
from kiosk.extensions import db
from kiosk.models import ApiToken
from kiosk.redemption import CartLine, redeem
from tests import factories

EXAMPLES_PER_OPERATION = 3
STATEFUL_RUNS = 8  # walks of up to 5 calls, each from a freshly seeded database
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    negative_data_rejection,
]
# Each test takes some 20–40 s on an idle machine; far slower means the API got slow on bad
# input (or the run grew), which is reported rather than left to eat CI's time.
BUDGET_SECONDS = 180


def _seed() -> dict:
    """Something for the generated requests to find: a household with points, a card and a
    redemption, goods in stock, this quarter's published notice, both users' tokens, and the
    ids of these rows (a path with them reaches the handlers' own checks instead of stopping at
    404)."""
    supermarket = factories.supermarket()
    admin = factories.user("admin1", "admin", supermarket)
    keeper = factories.user("keeper1", "keeper", supermarket, pin="1234")
    hh = factories.household(supermarket, points=100, head_name="张三丰")
    card, payload = factories.card(hh)
    rice = factories.product(supermarket, name="大米5kg", cost_fen=2550, stock_qty=5)
    redemption = redeem(
        supermarket.id,
        card_payload=payload,
        lines=[CartLine(rice.id, 1)],
        keeper=keeper,
        idempotency_key="schemathesis-0001",
    )
    tokens = {
        "admin": auth.issue_token(admin.id, label="schemathesis"),
        "keeper": auth.issue_token(keeper.id, label="schemathesis"),
    }
    spare = auth.issue_token(keeper.id, label="spare")  # one a generated request may revoke
    quarter = rules.period_key(clock.local_now().date(), rules.PERIOD_QUARTER)
    published = notice.publish_notice(
        notice.draft_notice(supermarket.id, quarter, actor=admin).id, actor=admin
    )
    ids = {
        "notice_id": published.id,
        "household_id": hh.id,
        "card_id": card.id,
        "redemption_id": redemption.id,
        "user_id": keeper.id,
        "token_id": db.session.scalar(
            db.select(ApiToken.id).where(ApiToken.label == "spare").limit(1)
        ),
    }
    assert spare
    return {"tokens": tokens, "ids": ids}


@pytest.fixture
def village(app):
    return _seed()


def _reseed(app) -> dict:
    """An empty database seeded again: each stateful run starts from the same rows, so the
    same draws make the same requests (hypothesis checks that they do)."""
    db.session.remove()
    if app.config["JIFEN_BACKEND"] == "postgresql":
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    else:
        db.drop_all()
        db.create_all()
    return _seed()


def _run_operation(
    operation,
    mode: GenerationMode,
    token: str,
    ids: dict[str, int] | None = None,
    examples: int = EXAMPLES_PER_OPERATION,
) -> list[str]:
    """Generate and send this operation's examples (with these path ids, when given); the
    failures, as text."""
    failures: list[str] = []
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=ids)

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case) -> None:
        try:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
        except BaseException as exc:  # noqa: BLE001 - a FailureGroup: record it, run the rest
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{operation.label} ({mode.value}): {exc}")

    run()
    return failures


@pytest.mark.parametrize("role", ["admin", "keeper"])
def test_the_api_keeps_its_document_for_generated_requests(app, village, role):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    started = time.monotonic()
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        token = village["tokens"][role]
        if role == "keeper":
            # The keeper's run asks what a keeper may and may not do; the admin's run also
            # sends schema-violating requests and uses real ids.
            failures += _run_operation(operation, GenerationMode.POSITIVE, token, examples=2)
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += _run_operation(operation, mode, token)
        names = set(re.findall(r"\{(\w+)\}", operation.path))
        if names and names <= set(village["ids"]):
            ids = {name: village["ids"][name] for name in names}
            failures += _run_operation(operation, GenerationMode.POSITIVE, token, ids)
    elapsed = time.monotonic() - started
    assert operations >= 30, "the document lists the API's operations"
    assert not failures, "\n\n".join(failures[:10]) + f"\n\n({len(failures)} failures)"
    assert elapsed < BUDGET_SECONDS, f"{elapsed:.0f} s for {operations} operations"


def test_sequences_of_calls_keep_the_document(app):
    """Stateful: schemathesis links operations by the ids their answers carry (a household
    made, then read, given members, a card, points; a card revoked; ...) and walks them."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    state: dict = {}

    class Walk(schema.as_state_machine()):
        def setup(self) -> None:
            state.update(_reseed(app))

        def get_call_kwargs(self, case) -> dict:
            return {"headers": {"Authorization": f"Bearer {state['tokens']['admin']}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            try:
                case.validate_response(response, checks=CHECKS[:-1])
            except BaseException as exc:  # noqa: BLE001 - a FailureGroup: record, walk on
                if isinstance(exc, KeyboardInterrupt):
                    raise
                failures.append(f"{case.operation.label}: {exc}")

    started = time.monotonic()
    Walk.run(
        settings=settings(
            max_examples=STATEFUL_RUNS,
            stateful_step_count=5,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )
    elapsed = time.monotonic() - started
    assert not failures, "\n\n".join(failures[:10]) + f"\n\n({len(failures)} failures)"
    assert elapsed < BUDGET_SECONDS, f"{elapsed:.0f} s"
