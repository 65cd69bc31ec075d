"""Shared helpers for the API tests: a client bound to a bearer token, and a schema check that
every answer has the shape the OpenAPI document promises."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from kiosk import auth
from kiosk.api.openapi import DOCUMENT


class Api:
    """The test client with one user's bearer token on every request."""

    def __init__(self, client, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra or {})
        return headers

    def get(self, url: str, **kw: Any):
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url: str, json: Any = None, **kw: Any):
        headers = self._headers(kw.pop("headers", None))
        if json is None and "data" not in kw:
            return self.client.post(url, headers=headers, **kw)
        return self.client.post(url, json=json, headers=headers, **kw)

    def put(self, url: str, json: Any = None, **kw: Any):
        return self.client.put(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, url: str, json: Any = None, **kw: Any):
        headers = self._headers(kw.pop("headers", None))
        return self.client.patch(url, json=json, headers=headers, **kw)


def api_for(client, user) -> Api:
    return Api(client, auth.issue_token(user.id, label="test"))


@pytest.fixture(name="as_keeper")
def as_keeper_fixture(client, keeper) -> Api:
    return api_for(client, keeper)


@pytest.fixture(name="as_admin")
def as_admin_fixture(client, admin) -> Api:
    return api_for(client, admin)


@pytest.fixture(name="as_supervisor")
def as_supervisor_fixture(client, supervisor) -> Api:
    return api_for(client, supervisor)


def check_schema(data: Any, name: str) -> None:
    """Fail unless ``data`` matches the document's schema ``name`` (and so the contract)."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": DOCUMENT["components"]}
    jsonschema.Draft202012Validator(schema).validate(data)


def error_code(response) -> str:
    """The stable error code of a refused request (also checks the error's shape)."""
    body = response.get_json()
    check_schema(body, "Error")
    assert body["error"]["message"], "every refusal carries a Chinese message"
    return body["error"]["code"]
