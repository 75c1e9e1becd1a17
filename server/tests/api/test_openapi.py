"""The OpenAPI document promises what the middleware answers, and its example runs."""

from __future__ import annotations

from typing import Any

from helpers import plugin_sources

from app.auth.policy import ROUTE_SCOPES
from app.auth.scopes import Access


def test_every_guarded_operation_documents_keys_and_refusals(make_client: Any) -> None:
    client = make_client(plugin_sources("echo"), force_in_process=True)
    document = client.get("/openapi.json").json()
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    operations = [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    assert operations
    for method, path, operation in operations:
        public = ROUTE_SCOPES[(method, path)] is Access.PUBLIC
        assert ("security" not in operation) is public, (method, path)
        if not public:
            assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)
        if "requestBody" in operation:
            assert {"413", "503"} <= set(operation["responses"]), (method, path)
        assert "422" not in operation["responses"], (method, path)  # Visor answers 400
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_the_documented_example_request_runs_as_is(make_client: Any) -> None:
    client = make_client(force_in_process=True, plugins_allowlist=["image_info"])
    operation = client.get("/openapi.json").json()["paths"]["/v1/analyze"]["post"]
    (example,) = operation["requestBody"]["content"]["application/json"]["schema"]["examples"]
    answer = client.post("/v1/analyze", json=example)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["width"] == 8
