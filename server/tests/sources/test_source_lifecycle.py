"""A source outlives the server running it, and ends when its key stops working."""

from __future__ import annotations

from typing import Any

from helpers import builtin_sources
from servers import MjpegCamera
from waiting import wait_until


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_source_resumes_on_the_next_server(
    make_client: Any, source_settings: dict[str, Any]
) -> None:
    """The server stops (its sources are given back); the next one on the same database
    claims the source, resumes it (``resumes`` counted) and its frames carry on."""
    plugins = builtin_sources("image_info")
    with MjpegCamera(fps=15) as camera:
        first = make_client(plugins, **source_settings)
        source_id = first.post(
            "/v1/sources", json={"url": camera.url, "format": "mpjpeg", "plugin": "image_info"}
        ).json()["id"]
        wait_until(
            lambda: first.get(f"/v1/sources/{source_id}").json()["stats"]["frames_out"] >= 5,
            "frames on the first server",
        )
        first.__exit__(None, None, None)
        second = make_client(plugins, **source_settings)

        def resumed() -> dict[str, Any] | None:
            body: dict[str, Any] = second.get(f"/v1/sources/{source_id}").json()
            stats = body["stats"]
            return body if stats["resumes"] == 1 and stats["frames_out"] >= 10 else None

        body = wait_until(resumed, "the source to resume on the second server")
        assert body["state"] == "running"
        second.delete(f"/v1/sources/{source_id}")


def test_a_revoked_key_stops_its_source(make_client: Any, source_settings: dict[str, Any]) -> None:
    client = make_client(builtin_sources("image_info"), **source_settings)
    admin = client.post("/v1/keys", json={"name": "root", "scope": "admin"}).json()["secret"]
    made = client.post("/v1/keys", json={"name": "cam", "scope": "run"}, headers=_bearer(admin))
    runner = made.json()["secret"]
    with MjpegCamera(fps=15) as camera:
        created = client.post(
            "/v1/sources",
            json={"url": camera.url, "format": "mpjpeg", "plugin": "image_info"},
            headers=_bearer(runner),
        )
        assert created.status_code == 201, created.text
        source_id = created.json()["id"]
        assert client.get(f"/v1/sources/{source_id}", headers=_bearer(admin)).status_code == 200
        wait_until(
            lambda: (
                client.get(f"/v1/sources/{source_id}", headers=_bearer(admin)).json()["stats"][
                    "frames_out"
                ]
                >= 3
            ),
            "frames",
        )
        assert client.delete("/v1/keys/cam", headers=_bearer(admin)).status_code in (200, 204)
        failed = wait_until(
            lambda: (
                (s := client.get(f"/v1/sources/{source_id}", headers=_bearer(admin)).json())[
                    "state"
                ]
                == "failed"
                and s
            ),
            "the source to fail",
        )
    assert failed["error"]["details"]["code"] == "unauthorized"
    assert "revoked" in failed["error"]["message"]
