"""The dashboard's routes without a browser: pages, packaged assets, docs, the overview data."""

from __future__ import annotations

import re
from typing import Any

import pytest
from helpers import builtin_sources, plugin_sources

from app.dashboard.paths import STATIC_DIR

SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # an XML name, never fetched
PAGES = ["/", "/ui/try", "/ui/live", "/ui/jobs", "/ui/jobs/0123abcd", "/ui/plugins/echo"]


@pytest.fixture
def client(make_client: Any) -> Any:
    """In-process plugins only: fast to start."""
    return make_client(plugin_sources("echo", "import_fails"))


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_html_that_loads_only_this_server(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    for url in re.findall(r'(?:src|href)="([^"]+)"', response.text):
        assert url.startswith("/"), f"{path} references {url}"
        if url.startswith("/ui/static/"):
            asset = client.get(url)
            assert asset.status_code == 200, url


def test_every_script_module_and_import_is_packaged(client: Any) -> None:
    scripts = sorted((STATIC_DIR / "js").rglob("*.js"))
    assert scripts
    for script in scripts:
        text = script.read_text()
        for target in re.findall(r'from "(\.[^"]+)"', text):
            assert (script.parent / target).resolve().is_file(), f"{script.name} imports {target}"
        urls = set(re.findall(r"https?://[^\s\"'`]+", text)) - {SVG_NAMESPACE}
        assert not urls, f"{script.name} names outside URLs: {urls}"
        url = "/ui/static/" + script.relative_to(STATIC_DIR).as_posix()
        response = client.get(url)
        assert response.status_code == 200
        assert "javascript" in response.headers["content-type"]


@pytest.mark.parametrize(
    ("path", "assets"),
    [
        ("/docs", ["swagger-ui-bundle.js", "swagger-ui.css"]),
        ("/redoc", ["redoc.standalone.js"]),
    ],
)
def test_api_docs_use_packaged_assets_only(client: Any, path: str, assets: list[str]) -> None:
    html = client.get(path).text
    assert "cdn." not in html and "fonts.googleapis" not in html and "https://" not in html
    for name in assets:
        (url,) = [u for u in re.findall(r'(?:src|href)="([^"]+)"', html) if u.endswith(name)]
        assert url.startswith("/ui/static/vendor/")
        assert client.get(url).status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_swagger_ui_never_calls_the_online_validator(client: Any) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


def test_dashboard_routes_stay_out_of_the_openapi_schema(client: Any) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith("/ui") or p in ("/docs", "/redoc")]


def test_overview_reports_plugins_pools_and_queue(make_client: Any) -> None:
    client = make_client([*plugin_sources("echo", "import_fails"), *builtin_sources("image_info")])
    assert client.post("/v1/analyze", json={"plugin": "echo", "args": {"text": "hi"}}).is_success
    body = client.get("/ui/api/overview").json()
    rows = {row["health"]["name"]: row for row in body["plugins"]}
    assert set(rows) == {"echo", "import_fails", "image_info"}
    assert rows["echo"]["health"]["success_count"] == 1
    assert rows["import_fails"]["health"]["state"] == "UNAVAILABLE"
    assert rows["import_fails"]["pool"] is None
    assert "visor_dependency_that_does_not_exist" in rows["import_fails"]["health"]["reason"]
    pool = rows["image_info"]["pool"]  # process isolation: a real pool of real processes
    executor = client.app.state.plugin_service.executor.process
    assert pool["processes"] == len(executor.pids("image_info")) >= 1
    assert pool["busy"] == 0 and pool["queued"] == 0 and pool["circuit_open"] is False
    assert pool["max_workers"] >= pool["processes"]
    assert body["jobs"] == {"pending": 0, "running": 0}


def test_overview_shows_no_pool_for_in_process_plugins(make_client: Any) -> None:
    client = make_client(plugin_sources("echo"), force_in_process=True)
    (row,) = client.get("/ui/api/overview").json()["plugins"]
    assert row["health"]["isolation"] == "in_process" and row["pool"] is None


def test_overview_counts_jobs_waiting_in_the_queue(client: Any) -> None:
    client.app.state.job_service.dispatcher.stop()  # nothing picks jobs up: they wait
    for _ in range(3):
        response = client.post("/v1/jobs", json={"plugin": "echo", "args": {"text": "x"}})
        assert response.status_code == 202
    assert client.get("/ui/api/overview").json()["jobs"] == {"pending": 3, "running": 0}


def test_every_openapi_reference_resolves_in_the_document(client: Any) -> None:
    """ReDoc (and other OpenAPI tools) refuse a document with a dangling ``$ref``."""
    spec = client.get("/openapi.json").json()
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                refs.append(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    assert refs
    schemas = spec["components"]["schemas"]
    dangling = [
        r
        for r in refs
        if not (r.startswith("#/components/schemas/") and r.split("/")[-1] in schemas)
    ]
    assert not dangling, dangling


def test_the_try_pages_samples_are_the_repositorys_and_are_served(client: Any) -> None:
    """The packaged copies must not drift from samples/ (make_samples.py rewrites those)."""
    from pathlib import Path

    samples = Path(__file__).resolve().parents[3] / "samples"
    html = client.get("/ui/try").text
    for name in ("qr.png", "face.jpg", "page.png"):
        packaged = STATIC_DIR / "img" / "samples" / name
        assert packaged.read_bytes() == (samples / name).read_bytes(), name
        urls = re.findall(rf'data-sample="([^"]+/{re.escape(name)})"', html)
        assert urls, name
        assert client.get(urls[0]).content == packaged.read_bytes()


def test_docs_pages_lead_back_to_the_dashboard(client: Any) -> None:
    for path, other in (("/docs", "/redoc"), ("/redoc", "/docs")):
        page = client.get(path)
        assert page.status_code == 200
        assert '<a href="/">&larr; Visor dashboard</a>' in page.text
        assert f'<a href="{other}">' in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]


def test_a_browser_gets_a_page_for_a_wrong_link_and_programs_get_json(client: Any) -> None:
    page = client.get("/v1/nothing-here", headers={"accept": "text/html,*/*;q=0.8"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Go to the dashboard" in page.text and "<code>/v1/nothing-here</code>" in page.text
    hostile = client.get("/<script>x", headers={"accept": "text/html"})
    assert "<script>x" not in hostile.text  # the path is escaped
    data = client.get("/v1/nothing-here")
    assert data.status_code == 404 and data.json()["error"]["details"]["code"] == "not_found"
