"""Versions: a new default version takes over under continuous load with zero failed
calls; pinned versions; removing versions."""

from __future__ import annotations

import base64
import threading
from collections import Counter

from helpers import png_bytes
from onnx_graphs import yolo_v5_model
from test_model_doors import register
from waiting import wait_until

IMAGE = base64.b64encode(png_bytes((640, 480))).decode()


def test_a_new_version_takes_over_under_load_without_a_failed_call(
    make_client, detector, tmp_path
) -> None:
    client = make_client([], workers_per_plugin=2)
    model, manifest = detector
    assert register(client, "cats", model, manifest).status_code == 201
    second = tmp_path / "v2.onnx"
    second.write_bytes(yolo_v5_model([0.2, 0.7], busy=20))  # sees a dog, and works

    answers: Counter[tuple[int, object]] = Counter()
    failures: list[str] = []
    stop = threading.Event()

    def call() -> None:
        while not stop.is_set():
            reply = client.post("/v1/analyze", json={"plugin": "cats", "image": IMAGE})
            if reply.status_code != 200:
                failures.append(reply.text)
                continue
            result = reply.json()["result"]
            answers[(result["model"]["version"], result["detections"][0]["label"])] += 1

    callers = [threading.Thread(target=call, daemon=True) for _ in range(3)]
    for thread in callers:
        thread.start()
    try:
        wait_until(lambda: sum(answers.values()) >= 10, "calls to version 1")
        answer = register(client, "cats", second, manifest)  # the default, under load
        assert answer.status_code == 201, answer.text
        assert answer.json()["version"] == 2
        seen = wait_until(lambda: answers[(2, "dog")], "calls answered by version 2")
        wait_until(lambda: answers[(2, "dog")] >= seen + 10, "more calls to version 2")
    finally:
        stop.set()
        for thread in callers:
            thread.join(30)
    assert failures == []
    assert set(answers) == {(1, "cat"), (2, "dog")}  # each version answered as itself

    pinned = client.post(
        "/v1/analyze", json={"plugin": "cats", "image": IMAGE, "args": {"version": 1}}
    )
    assert pinned.json()["result"]["model"]["version"] == 1
    assert client.get("/v1/plugins/cats/health").json()["version"] == "2"

    listed = client.get("/v1/models/cats").json()
    assert listed["default_version"] == 2
    assert [v["version"] for v in listed["versions"]] == [1, 2]

    assert client.delete("/v1/models/cats@1").status_code == 200
    gone = client.post(
        "/v1/analyze", json={"plugin": "cats", "image": IMAGE, "args": {"version": 1}}
    )
    assert gone.status_code == 400
    assert gone.json()["error"]["details"]["versions"] == [2]
    assert client.delete("/v1/models/cats@9").status_code == 404
    assert client.delete("/v1/models/cats").status_code == 200
    assert client.get("/v1/plugins/cats").status_code == 404
    assert client.get("/v1/models").json() == {"models": []}
