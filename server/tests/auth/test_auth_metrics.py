"""``/metrics`` names keys by public id and counts refusals by reason; never a secret."""

from __future__ import annotations

from auth_helpers import Keys, bearer
from fastapi.testclient import TestClient


def _value(text: str, line_start: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(line_start))
    return float(line.rsplit(" ", 1)[1])


def test_metrics_count_refusals_and_requests_per_key(secured: tuple[TestClient, Keys]) -> None:
    client, keys = secured
    client.get("/v1/plugins")  # missing key
    client.get("/v1/plugins", headers=bearer(keys.revoked))  # invalid
    client.post("/v1/plugins/reload", headers=bearer(keys.read))  # scope
    client.get("/v1/plugins", headers={**bearer(keys.read), "Origin": "http://evil.example"})
    for _ in range(3):
        client.get("/v1/plugins", headers=bearer(keys.run))

    text = client.get("/metrics", headers=bearer(keys.read)).text
    assert _value(text, 'visor_auth_refusals_total{reason="missing_key"}') == 1
    assert _value(text, 'visor_auth_refusals_total{reason="invalid_key"}') == 1
    assert _value(text, 'visor_auth_refusals_total{reason="scope"}') == 1
    assert _value(text, 'visor_auth_refusals_total{reason="origin"}') == 1
    assert _value(text, f'visor_key_requests_total{{key_id="{keys.ids["run"]}"}}') == 3
    assert _value(text, 'visor_api_keys{state="active"}') == 4
    assert _value(text, 'visor_api_keys{state="revoked"}') == 1
    assert _value(text, 'visor_api_keys{state="expired"}') == 1
    for secret in (keys.read, keys.run, keys.admin):
        assert secret.split("_", 2)[2] not in text
