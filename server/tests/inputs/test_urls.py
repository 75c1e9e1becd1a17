"""image_url is SSRF-guarded on the address actually connected, and on every redirect.

The servers are real (http.server on loopback addresses). 127.0.0.1 is the target an
attacker aims at; 127.0.0.2 stands for a public host, trusted explicitly by the policy.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest
from image_server import ImageServer

from app.inputs.urls import UrlFetcher, UrlPolicy, forbidden_reason
from app.plugins.base import InvalidInput

TRUST_127_0_0_2 = (ipaddress.ip_network("127.0.0.2/32"),)


def fetcher(**overrides: Any) -> UrlFetcher:
    policy = UrlPolicy(**{"enabled": True, "allow_networks": TRUST_127_0_0_2, **overrides})
    return UrlFetcher(policy)


def refusal(fetch: UrlFetcher, url: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        fetch.fetch(url)
    assert caught.value.details["field"] == "image_url"
    return caught.value


def test_a_trusted_host_is_fetched(trusted_host: ImageServer, photo_jpeg: bytes) -> None:
    assert fetcher().fetch(trusted_host.url("/image")) == (photo_jpeg, "image/jpeg")


def test_off_by_default(trusted_host: ImageServer) -> None:
    error = refusal(UrlFetcher(UrlPolicy()), trusted_host.url("/image"))
    assert "VISOR_ALLOW_URL_INPUTS" in error.message


def test_loopback_is_refused_before_any_request(private_host: ImageServer) -> None:
    before = len(private_host.hits)
    error = refusal(fetcher(), private_host.url("/image"))
    assert "is refused: 127.0.0.1 is a loopback address" in error.message
    assert len(private_host.hits) == before  # the server never saw a request


@pytest.mark.parametrize(
    "host", ["localhost", "[::1]", "2130706433", "0x7f.1", "[::ffff:127.0.0.1]"]
)
def test_other_spellings_of_loopback_are_refused(private_host: ImageServer, host: str) -> None:
    before = len(private_host.hits)
    error = refusal(fetcher(), f"http://{host}:{private_host.port}/image")
    assert "loopback" in error.message
    assert len(private_host.hits) == before


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.1.2.3/x.png", "private"),
        ("http://192.168.0.1/x.png", "private"),
        ("http://[fe80::1]/x.png", "link-local"),
        ("http://224.0.0.1/x.png", "multicast"),
        ("http://0.0.0.0/x.png", "unspecified"),
        ("http://240.0.0.1/x.png", "reserved"),
    ],
)
def test_private_ranges_are_refused(url: str, kind: str) -> None:
    assert f"a {kind} address" in refusal(fetcher(timeout_s=2), url).message


def test_a_redirect_to_a_private_address_is_refused(
    trusted_host: ImageServer, private_host: ImageServer
) -> None:
    before = len(private_host.hits)
    target = private_host.url("/image")
    error = refusal(fetcher(), trusted_host.url(f"/redirect?to={target}"))
    assert "127.0.0.1 is a loopback address" in error.message
    assert len(private_host.hits) == before


def test_a_safe_redirect_is_followed(trusted_host: ImageServer, photo_jpeg: bytes) -> None:
    url = trusted_host.url("/redirect?to=/image")
    assert fetcher().fetch(url) == (photo_jpeg, "image/jpeg")


def test_redirect_loops_stop(trusted_host: ImageServer) -> None:
    loop = trusted_host.url("/redirect?to=/redirect%3Fto%3D/image")
    assert "redirected more than 1 times" in refusal(fetcher(max_redirects=1), loop).message


def test_a_redirect_to_another_scheme_is_refused(trusted_host: ImageServer) -> None:
    error = refusal(fetcher(), trusted_host.url("/redirect?to=file:///etc/passwd"))
    assert "redirects to a file URL" in error.message


def test_dns_answers_are_checked_not_names(
    monkeypatch: pytest.MonkeyPatch, private_host: ImageServer
) -> None:
    """A name that resolves to a private address (as after a rebinding) is refused."""
    real = socket.getaddrinfo

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == "images.example.com" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    error = refusal(fetcher(), f"http://images.example.com:{private_host.port}/image")
    assert "images.example.com resolves to 127.0.0.1, a loopback address" in error.message


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("file:///etc/passwd", "must be an http(s) URL, not file"),
        ("ftp://example.com/a.png", "must be an http(s) URL, not ftp"),
        ("gopher://example.com/", "must be an http(s) URL"),
        ("/etc/passwd", "must be an http(s) URL, not no scheme"),
        ("http:///x.png", "has no host"),
    ],
)
def test_only_http_urls(url: str, fragment: str) -> None:
    assert fragment in refusal(fetcher(), url).message


def test_content_type_must_be_an_image(trusted_host: ImageServer) -> None:
    error = refusal(fetcher(), trusted_host.url("/text"))
    assert "is not an image: the server says its content type is 'text/html'" in error.message


def test_size_limit_holds_without_content_length(trusted_host: ImageServer) -> None:
    error = refusal(fetcher(max_bytes=200_000), trusted_host.url("/huge"))
    assert "more than 195 KiB, the limit (VISOR_MAX_IMAGE_BYTES)" in error.message


def test_declared_size_over_the_limit_is_refused(trusted_host: ImageServer) -> None:
    error = refusal(fetcher(max_bytes=100), trusted_host.url("/image"))
    assert "the limit is 100" in error.message


def test_time_limit(trusted_host: ImageServer) -> None:
    error = refusal(fetcher(timeout_s=0.3), trusted_host.url("/stall?s=3"))
    assert "took longer than 0.3 s" in error.message


def test_http_errors_are_reported(trusted_host: ImageServer) -> None:
    assert "answered HTTP 404" in refusal(fetcher(), trusted_host.url("/nothing")).message


def test_forbidden_reason_of_public_addresses() -> None:
    assert forbidden_reason(ipaddress.ip_address("93.184.216.34")) is None
    assert forbidden_reason(ipaddress.ip_address("2606:4700::1111")) is None
    assert forbidden_reason(ipaddress.ip_address("100.64.0.1")) == "non-public"  # CGNAT
