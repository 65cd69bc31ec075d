"""The OpenAPI document: valid OpenAPI 3.1, and exactly the blueprint's routes, codes and refs."""

from __future__ import annotations

import json
import re

from openapi_spec_validator import validate

from kiosk import errors
from kiosk.api.openapi import DOCUMENT, ERROR_CODES


def documented_routes() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in DOCUMENT["paths"].items() for method in ops}


def blueprint_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routes.update((m, path) for m in rule.methods - {"HEAD", "OPTIONS"})
    return routes


def test_document_is_valid_openapi_3_1():
    assert DOCUMENT["openapi"].startswith("3.1")
    validate(DOCUMENT)


def test_every_route_is_documented_and_every_documented_route_exists(app):
    routes = blueprint_routes(app)
    documented = documented_routes()
    assert routes - documented == set(), "routes missing from openapi.py"
    assert documented - routes == set(), "documented routes that do not exist"


def test_path_parameters_match_the_routes():
    for path, ops in DOCUMENT["paths"].items():
        names = set(re.findall(r"\{(\w+)\}", path))
        for method, op in ops.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (method, path)


def test_every_domain_error_code_is_listed():
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    codes = {cls.code for cls in subclasses(errors.DomainError)}
    enum = DOCUMENT["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"][
        "enum"
    ]
    assert codes <= set(enum)
    assert {"csrf_failed", "idempotency_conflict", "card_invalid"} <= set(enum)
    for cls in subclasses(errors.DomainError):
        assert ERROR_CODES[cls.code][0] == cls.status, cls.code


def test_every_ref_resolves():
    schemas = DOCUMENT["components"]["schemas"]
    refs = re.findall(r'"\$ref": "#/components/schemas/(\w+)"', json.dumps(DOCUMENT))
    assert refs
    assert set(refs) <= set(schemas)


def test_bearer_security_scheme(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "jf_...",
    }
    assert {"bearerAuth": []} in doc["security"]
    assert doc["paths"]["/api/v1/redemptions"]["post"]["responses"]["409"]


def test_every_ledger_entry_kind_is_listed():
    # The rules post their own entries (大同's conversion and veto, 高阳's base and expiry):
    # a client reading a household's history must find every kind the API can return.
    from kiosk.models import ENTRY_KINDS

    enum = DOCUMENT["components"]["schemas"]["PointEntry"]["properties"]["kind"]["enum"]
    assert set(enum) == set(ENTRY_KINDS)
    assert {"conversion", "veto_clear", "base_grant", "expiry"} <= set(enum)
