"""A bounded schemathesis run over /api/v1/openapi.json (issue 16's guard): every operation,
with schema-valid and schema-violating requests, as an admin and as a keeper, on SQLite and on
PostgreSQL. It fails on any 5xx, on an answer whose status or body the document does not
promise, and on a schema-violating request that is accepted.

Bounded so CI stays fast and the run is repeatable: a few examples per operation, derandomized
(the same requests every run), no shrinking, and no example database.
"""

from __future__ import annotations

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

from kiosk import auth
from tests import factories

EXAMPLES_PER_OPERATION = 4
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    negative_data_rejection,
]
# A whole run (one database, one role) should take well under a minute; a slower one is
# reported, so that a change that makes the API slow for bad input is noticed.
BUDGET_SECONDS = 90


@pytest.fixture
def village(supermarket, admin, keeper):
    """Something for the generated requests to find: a household with points and a card,
    goods in stock, and both users' tokens."""
    hh = factories.household(supermarket, points=100, head_name="张三丰")
    factories.card(hh)
    factories.product(supermarket, name="大米5kg", cost_fen=2550, stock_qty=5)
    return {
        "admin": auth.issue_token(admin.id, label="schemathesis"),
        "keeper": auth.issue_token(keeper.id, label="schemathesis"),
    }


def _run_operation(operation, mode: GenerationMode, token: str) -> list[str]:
    """Generate and send this operation's examples; the failures, as text."""
    failures: list[str] = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
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
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += _run_operation(operation, mode, village[role])
    elapsed = time.monotonic() - started
    assert operations >= 30, "the document lists the API's operations"
    assert not failures, "\n\n".join(failures[:10]) + f"\n\n({len(failures)} failures)"
    assert elapsed < BUDGET_SECONDS, f"{elapsed:.0f} s for {operations} operations"
