"""Webhooks: signed, retried from a durable outbox across a restart, delivered once;
dead after the bound; refused for private addresses like image_url."""

from __future__ import annotations

from typing import Any

import orjson
from helpers import builtin_sources, plugin_sources
from servers import WebhookReceiver
from waiting import wait_until


def _hook(client: Any, url: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/webhooks", json={"url": url, **extra})
    assert response.status_code == 201, response.text
    hook: dict[str, Any] = response.json()
    assert hook["secret"].startswith("whsec_")
    return hook


def _deliveries(client: Any, hook_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/webhooks/{hook_id}/deliveries")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["deliveries"]
    return found


def test_a_delivery_survives_a_restart_and_is_accepted_once(
    make_client: Any, source_settings: dict[str, Any]
) -> None:
    """The receiver refuses the first attempt; the server stops before the retry; the next
    server sends it: one accepted delivery, signed, the same event id on both attempts."""
    plugins = plugin_sources("echo")
    with WebhookReceiver(fail_first=1) as receiver:
        first = make_client(plugins, **source_settings)
        hook = _hook(first, receiver.url, events=["job.succeeded"])
        assert "secret" not in str(first.get("/v1/webhooks").json()["webhooks"][0].get("secret"))
        receiver.secret = hook["secret"]
        job = first.post("/v1/jobs", json={"plugin": "echo", "args": {"text": "hi"}})
        assert job.status_code == 202
        wait_until(lambda: receiver.attempts, "the first attempt")
        first.__exit__(None, None, None)  # the server stops between attempts

        second = make_client(plugins, **source_settings)
        wait_until(lambda: receiver.accepted, "the retried delivery")
        delivered = wait_until(
            lambda: [d for d in _deliveries(second, hook["id"]) if d["state"] == "delivered"],
            "the delivery to be recorded",
        )
    assert len(receiver.accepted) == 1
    assert [a["valid"] for a in receiver.attempts] == [True, True]
    ids = {a["headers"]["webhook-id"] for a in receiver.attempts}
    assert ids == {f"job-{job.json()['id']}-success"}
    event = orjson.loads(receiver.accepted[0]["body"])
    assert event["type"] == "job.succeeded" and event["job"]["id"] == job.json()["id"]
    assert delivered[0]["attempts"] == 2 and delivered[0]["last_error"] == "HTTP 500"


def test_a_forged_or_stale_signature_does_not_verify() -> None:
    from app.sources.signing import new_secret, sign, verify

    secret = new_secret()
    body = b'{"id":"e1"}'
    headers = {
        "webhook-id": "e1",
        "webhook-timestamp": "1000",
        "webhook-signature": sign(secret, "e1", 1000, body),
    }
    assert verify(secret, headers, body, now=1000)
    assert not verify(secret, headers, body + b" ", now=1000)
    assert not verify(new_secret(), headers, body, now=1000)
    assert not verify(secret, headers, body, now=1000 + 301)


def test_private_targets_are_refused_and_end_as_dead_letters(
    make_client: Any, source_settings: dict[str, Any]
) -> None:
    """Without the operator allowing loopback, a webhook on 127.0.0.1 is never called: each
    attempt is refused by the SSRF guard, and after the bound the delivery is dead."""
    settings = {**source_settings, "url_input_allow_networks": [], "webhook_max_attempts": 2}
    client = make_client([*builtin_sources("image_info"), *plugin_sources("echo")], **settings)
    with WebhookReceiver() as receiver:
        hook = _hook(client, receiver.url)
        client.post("/v1/jobs", json={"plugin": "echo", "args": {"text": "hi"}})
        dead = wait_until(
            lambda: [d for d in _deliveries(client, hook["id"]) if d["state"] == "dead"],
            "the delivery to die",
        )
        assert receiver.attempts == []
    assert dead[0]["attempts"] == 2
    assert dead[0]["last_error"].startswith("refused:") and "loopback" in dead[0]["last_error"]


def test_webhook_requests_are_checked(make_client: Any, source_settings: dict[str, Any]) -> None:
    client = make_client(plugin_sources("echo"), **source_settings)
    for body in ({"url": "ftp://x"}, {"url": "http://x", "events": ["nope"]}):
        response = client.post("/v1/webhooks", json=body)
        assert response.status_code == 400, response.text
    assert client.get("/v1/webhooks/abc/deliveries").status_code == 404
    assert client.delete("/v1/webhooks/abc").status_code == 404
