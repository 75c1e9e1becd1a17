"""image_url under hostile origins: one deadline for the whole fetch, downloads held in the
body budget, and URLs that are not plain ASCII encoded (or refused), never a crash.

The origins are real HTTP servers on loopback addresses (image_server.py); 127.0.0.2 is
trusted by the policy and stands for a public host. Limits are set small so the tests are
fast; no test asserts a duration, only what the fetch answered.
"""

from __future__ import annotations

import ipaddress
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from helpers import builtin_sources
from image_server import ImageServer

from app.body_budget import BodyBudget, Share
from app.errors import ErrorCode, VisorError
from app.inputs.urls import UrlFetcher, UrlPolicy
from app.plugins.base import InvalidInput

TRUST_127_0_0_2 = (ipaddress.ip_network("127.0.0.2/32"),)


def fetcher(budget: BodyBudget | None = None, **overrides: Any) -> UrlFetcher:
    policy = UrlPolicy(**{"enabled": True, "allow_networks": TRUST_127_0_0_2, **overrides})
    return UrlFetcher(policy, budget=budget)


# -- one deadline -----------------------------------------------------------------------------


@pytest.mark.timeout(30)  # the bound: without one deadline the drip holds the call ~60 s
def test_headers_dripping_a_byte_at_a_time_hit_the_one_deadline(
    trusted_host: ImageServer,
) -> None:
    # ~300 header bytes, one every 0.2 s: each read is quick, the whole takes a minute.
    with pytest.raises(InvalidInput) as caught:
        fetcher(timeout_s=1).fetch(trusted_host.url("/drip-headers?every=0.2&bytes=280"))
    assert caught.value.message == "image_url took longer than 1 s"
    assert caught.value.details["limit_s"] == 1


def test_a_quick_origin_is_within_the_deadline(
    trusted_host: ImageServer, photo_jpeg: bytes
) -> None:
    url = trusted_host.url("/drip-headers?every=0&bytes=20")
    assert fetcher(timeout_s=30).fetch(url) == (photo_jpeg, "image/jpeg")


# -- the body budget --------------------------------------------------------------------------


def test_an_endless_body_is_held_in_the_budget_and_refused_past_it(
    trusted_host: ImageServer,
) -> None:
    budget = BodyBudget(256 * 1024)
    with pytest.raises(VisorError) as caught:
        fetcher(budget, max_bytes=4 * 1024 * 1024).fetch(trusted_host.url("/huge"))
    assert caught.value.code is ErrorCode.OVERLOADED
    assert caught.value.details["limit_bytes"] == 256 * 1024
    assert caught.value.details["retry_after_s"] >= 1
    assert budget.held_bytes == 0  # nothing left held once the fetch ended


def test_concurrent_endless_bodies_never_hold_more_than_the_budget(
    trusted_host: ImageServer,
) -> None:
    budget = BodyBudget(1024 * 1024)
    most = 0
    lock = threading.Lock()
    original = budget.take

    def take(size: int, share: Share | None = None) -> bool:  # watch the real budget
        nonlocal most
        ok = original(size, share)
        with lock:
            most = max(most, budget.held_bytes)
        return ok

    budget.take = take  # type: ignore[method-assign]
    fetch = fetcher(budget, max_bytes=768 * 1024)

    def one(_: int) -> str:
        try:
            fetch.fetch(trusted_host.url("/huge"))
        except VisorError as exc:
            return str(exc.code)
        return "fetched"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(one, range(8)))
    assert set(outcomes) <= {"invalid_input", "overloaded"}  # cut at the size or the budget
    assert 0 < most <= 1024 * 1024  # the downloads were counted, and never past the limit
    assert budget.held_bytes == 0


def test_a_requests_download_stays_held_until_the_request_is_done(
    trusted_host: ImageServer, photo_jpeg: bytes
) -> None:
    budget = BodyBudget(1024 * 1024)
    with budget.share():
        assert fetcher(budget).fetch(trusted_host.url("/image"))[0] == photo_jpeg
        assert budget.held_bytes == len(photo_jpeg)  # the bytes are still in use
    assert budget.held_bytes == 0


# -- URLs that are not ASCII --------------------------------------------------------------------


def test_a_non_ascii_path_is_percent_encoded(trusted_host: ImageServer, photo_jpeg: bytes) -> None:
    url = f"http://127.0.0.2:{trusted_host.port}/bild-ü.jpg"
    assert fetcher().fetch(url) == (photo_jpeg, "image/jpeg")
    assert trusted_host.hits[-1] == "/bild-%C3%BC.jpg"


def test_an_idn_host_is_resolved_by_its_ascii_name(
    trusted_host: ImageServer, photo_jpeg: bytes
) -> None:
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.2"]

    policy = UrlPolicy(enabled=True, allow_networks=TRUST_127_0_0_2)
    fetch = UrlFetcher(policy, resolver=resolver)
    assert fetch.fetch(f"http://bücher.example:{trusted_host.port}/image")[0] == photo_jpeg
    assert asked == ["xn--bcher-kva.example"]


@pytest.mark.parametrize(
    "url",
    [
        "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/x.png",  # full-width 127.0.0.1
        "http://exa\u200bmple.com/x.png",  # a zero-width space in the host
        "http://[::1/x.png",
    ],
)
def test_hosts_that_cannot_be_encoded_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        fetcher().fetch(url)
    assert caught.value.details["field"] == "image_url"
    assert "is not a valid URL" in caught.value.message


# -- through the app: the same budget as request bodies ------------------------------------------


def test_analyze_answers_overloaded_when_downloads_fill_the_budget(
    make_client: Any, trusted_host: ImageServer, photo_jpeg: bytes
) -> None:
    client = make_client(
        builtin_sources("image_info"),
        force_in_process=True,
        allow_url_inputs=True,
        url_input_allow_networks=["127.0.0.2/32"],
        max_request_bytes=256 * 1024,
        max_bodies_in_flight_bytes=256 * 1024,
    )
    body = {"plugin": "image_info", "image_url": trusted_host.url("/huge")}
    response = client.post("/v1/analyze", json=body)
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert (error["details"]["code"], error["details"]["field"]) == ("overloaded", "image_url")
    assert response.headers["retry-after"] == "1"
    small = {"plugin": "image_info", "image_url": trusted_host.url("/image")}
    assert client.post("/v1/analyze", json=small).json()["result"]["width"] == 300
