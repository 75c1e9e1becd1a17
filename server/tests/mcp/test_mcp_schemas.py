"""Schemas that admit what agents send, and listings a model can afford.

An image tool declares ``image``; callers may give ``image_ref`` (also as the
``visor://files/<id>`` URI ``resources/list`` shows), ``image_url`` or ``image_path`` (also
as ``file://``). Every door shows the same caller's schema — each enabled form, exactly one
of them — and MCP lists it lean: no pydantic titles or null unions, catalogues in a
resource, within a token budget measured here with a real o200k tokenizer.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import bpe_openai
import httpx
import jsonschema_rs
import pytest
from helpers import b64, builtin_sources, png_bytes
from live_server import LiveServer
from mcp import Client
from node_toolchain import NodeClients, NodeMissing, install

from app.inputs.schema import ImageForms, call_schema
from app.plugins.loader.plugin_registry import PluginState
from app.settings import Settings

pytestmark = pytest.mark.anyio

IMAGE_HOST = "127.0.0.2"  # trusted explicitly by the server's settings below
PNG = png_bytes((40, 30))
#: Built-in plugins whose listing the token budget is measured on (all that list offline).
BUILTINS = ("image_info", "barcode", "faces", "ocr", "ocr-rapid", "people")
TOKENS_PER_TOOL = 250


class _ImageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def image_host() -> Iterator[str]:
    server = ThreadingHTTPServer((IMAGE_HOST, 0), _ImageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{IMAGE_HOST}:{server.server_address[1]}/page.png"
    server.shutdown()


@pytest.fixture(scope="module")
def input_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("roots") / "in put"  # a space: file:// URIs quote it
    root.mkdir()
    (root / "page.png").write_bytes(PNG)
    return root


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, input_root: Path) -> Iterator[LiveServer]:
    """Every image form on: uploads, URLs (from the trusted test host) and an input root."""
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("mcp-schemas") / "data",
        force_in_process=True,
        input_roots=[input_root],
        allow_url_inputs=True,
        url_input_allow_networks=[f"{IMAGE_HOST}/32"],
        _env_file=None,
    )
    server = LiveServer(settings, builtin_sources(*BUILTINS)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def forms(live: LiveServer, input_root: Path, image_host: str) -> dict[str, str]:
    """One value for every image form, all naming the same picture."""
    upload = httpx.post(f"{live.url}/v1/files", files={"file": ("page.png", PNG)})
    assert upload.status_code == 201, upload.text
    file_id = upload.json()["id"]
    return {
        "image": b64(PNG),
        "image_ref": file_id,
        "image_ref_uri": f"visor://files/{file_id}",
        "image_url": image_host,
        "image_path": str(input_root / "page.png"),
        "image_path_uri": (input_root / "page.png").as_uri(),
    }


def _field(form: str) -> str:
    return form.removesuffix("_uri")


# -- the caller's schema ---------------------------------------------------------------------

TOOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "image": {"type": "string", "description": "The tool's own words."},
        "mime_type": {"type": "string"},
        "level": {"type": "string"},
    },
    "required": ["image", "mime_type"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("forms", "expected"),
    [
        (ImageForms(), ["image"]),
        (ImageForms(files=True), ["image", "image_ref"]),
        (
            ImageForms(files=True, urls=True, paths=True),
            ["image", "image_ref", "image_url", "image_path"],
        ),
        (ImageForms(paths=True), ["image", "image_path"]),
    ],
    ids=["base64 only", "uploads", "every form", "roots only"],
)
def test_the_callers_schema_offers_each_enabled_form_exactly_once(
    forms: ImageForms, expected: list[str]
) -> None:
    schema = call_schema(TOOL_SCHEMA, forms)
    validator = jsonschema_rs.validator_for(schema)

    assert [f for f in schema["properties"] if f.startswith("image")] == expected
    assert "mime_type" not in schema.get("required", [])  # read from the bytes
    for field in expected:
        assert validator.is_valid({field: "x"}), field
    assert not validator.is_valid({})
    assert not validator.is_valid({"level": "words"})
    if len(expected) > 1:
        assert schema["oneOf"] == _one_of(*expected)
        assert not validator.is_valid({expected[0]: "x", expected[1]: "y"})  # one, not two
    assert TOOL_SCHEMA["required"] == ["image", "mime_type"]  # the tool's own is untouched


def test_a_form_the_tool_declares_itself_stays_the_tools() -> None:
    properties = {**TOOL_SCHEMA["properties"], "image_url": {"type": "integer"}}
    own = {**TOOL_SCHEMA, "properties": properties}
    schema = call_schema(own, ImageForms(files=True, urls=True))
    assert schema["properties"]["image_url"] == {"type": "integer"}
    assert schema["oneOf"] == _one_of("image", "image_ref")


def test_rest_mcp_and_the_dashboard_read_one_schema(live: LiveServer) -> None:
    manifest = httpx.get(f"{live.url}/v1/plugins/image_info").json()
    (describe,) = manifest["tools"]
    arguments = describe["arguments_schema"]

    assert describe["input_schema"]["required"] == ["image"]  # what the tool receives
    assert arguments["oneOf"] == _one_of("image", "image_ref", "image_url", "image_path")
    listed = _listed(live)["image_info.describe"]["inputSchema"]
    assert listed["oneOf"] == arguments["oneOf"]
    assert set(listed["properties"]) == set(arguments["properties"])
    try_page = (Path(__file__).parents[2] / "app/dashboard/static/js/pages/try.js").read_text()
    assert "tool?.arguments_schema" in try_page  # the form follows the same schema


@pytest.mark.parametrize(
    "form", ["image", "image_ref", "image_ref_uri", "image_url", "image_path", "image_path_uri"]
)
async def test_each_listed_form_is_accepted_by_the_listing_and_by_a_call(
    live: LiveServer, forms: dict[str, str], form: str
) -> None:
    arguments = {_field(form): forms[form]}
    listed = _listed(live)["image_info.describe"]["inputSchema"]
    assert jsonschema_rs.validator_for(listed).is_valid(arguments)

    async with Client(live.mcp_url) as client:
        result = await client.call_tool("image_info.describe", arguments)

    assert not result.is_error, result.content
    assert (result.structured_content or {})["width"] == 40


def test_typescript_sdk_validator_accepts_each_form_and_one_only(
    live: LiveServer, forms: dict[str, str]
) -> None:
    """The SDK's own AJV validator (as its Client uses it) and a strict AJV, on every image
    tool's listed schema; then a call per form through the SDK's Client."""
    try:
        clients: NodeClients = install()
    except NodeMissing as exc:
        pytest.skip(f"external MCP client tests skipped: {exc}")
    script = clients.script("forms_client.mjs")
    done = subprocess.run(
        [str(clients.node), str(script), live.mcp_url, json.dumps(_labelled(forms))],
        cwd=clients.root,
        env=clients.env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)

    assert len(report["checked"]) >= 8  # every built-in image tool
    for tool, checked in report["checked"].items():
        for validator, verdict in checked["verdicts"].items():
            where = f"{tool} ({validator} AJV)"
            assert "compile" not in verdict, f"{where}: {verdict}"
            for form, outcome in verdict["one"].items():
                assert outcome["valid"], f"{where} refused {form}: {outcome['errorMessage']}"
            assert not verdict["two"]["valid"], f"{where} accepted two forms at once"
            assert not verdict["none"]["valid"], f"{where} accepted no image"
    for form, result in report["calls"].items():
        assert result["isError"] is False, (form, result["content"])
        assert result["structuredContent"]["width"] == 40


# -- lean listings ---------------------------------------------------------------------------


def test_tools_list_costs_at_most_250_o200k_tokens_per_tool(live: LiveServer) -> None:
    """Measured as a model sees a tool: its name, description and input schema (JSON)."""
    encoding = bpe_openai.get_encoding("o200k_base")  # its vocabulary ships in the wheel
    tools = _listed(live)
    registry = live.app.state.registry
    expected = {
        f"{record.name}.{spec.name}"
        for record in registry.records()
        if record.state is not PluginState.UNAVAILABLE
        for spec in record.tools.values()
    }
    assert set(tools) == expected | {"files.upload", "results.page"} and len(tools) >= 10

    cost = {
        name: len(encoding.encode(json.dumps(_visible(tool), separators=(",", ":"))))
        for name, tool in tools.items()
    }
    print("tools/list o200k tokens per tool:", sum(cost.values()) / len(cost), cost)
    assert sum(cost.values()) / len(cost) <= TOKENS_PER_TOOL, cost
    assert max(cost.values()) <= 1.5 * TOKENS_PER_TOOL, cost


def test_the_listing_drops_pydantic_noise_but_keeps_what_a_call_needs(live: LiveServer) -> None:
    words = _listed(live)["ocr.read_words"]
    schema = words["inputSchema"]
    text = json.dumps(schema)

    assert '"title"' not in text and '"$defs"' not in text and '"$ref"' not in text
    assert '{"type": "null"}' not in text
    level = schema["properties"]["level"]  # an enum from $defs, inlined
    assert level["enum"] == ["blocks", "paragraphs", "lines", "words"]
    assert schema["properties"]["max_items"]["type"] == "integer"
    assert schema["additionalProperties"] is False
    assert words["title"] == "Read text with boxes (Tesseract)"


async def test_catalogues_are_in_the_schema_resource(live: LiveServer) -> None:
    listed = _listed(live)["ocr.read_words"]
    uri = "visor://tools/ocr.read_words/input-schema"
    assert uri in listed["description"]
    assert "properties" not in listed["inputSchema"]["properties"]["variables"]

    async with Client(live.mcp_url) as client:
        read = await client.read_resource(uri)
        with pytest.raises(Exception, match="Resource not found"):
            await client.read_resource("visor://tools/ocr.nope/input-schema")

    full = json.loads(read.contents[0].text)  # type: ignore[union-attr]
    variables = full["$defs"]["TesseractVariables"]["properties"]
    assert "tessedit_char_whitelist" in variables  # every option, in full
    assert full["oneOf"] == listed["inputSchema"]["oneOf"]


def test_two_read_text_tools_say_when_to_use_which(live: LiveServer) -> None:
    tools = _listed(live)
    tesseract, rapid = tools["ocr.read_text"], tools["ocr-rapid.read_text"]
    assert "ocr-rapid.read_text" in tesseract["description"]
    assert "ocr.read_text" in rapid["description"]
    assert tesseract["title"] != rapid["title"]


# -- helpers ---------------------------------------------------------------------------------


def _listed(live: LiveServer) -> dict[str, dict[str, Any]]:
    """``tools/list`` as JSON, the way a client receives it."""
    response = httpx.post(
        live.mcp_url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        headers={
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-06-18",
        },
    )
    response.raise_for_status()
    return {tool["name"]: tool for tool in response.json()["result"]["tools"]}


def _labelled(forms: dict[str, str]) -> list[list[str]]:
    """``[label, field, value]`` per form (two labels name the URI variants of a field)."""
    return [[label, _field(label), value] for label, value in forms.items()]


def _visible(tool: dict[str, Any]) -> dict[str, Any]:
    return {key: tool[key] for key in ("name", "description", "inputSchema") if key in tool}


def _one_of(*fields: str) -> list[dict[str, Any]]:
    """Exactly one of ``fields`` (each branch defines its property, for strict validators)."""
    return [{"properties": {f: {"type": "string"}}, "required": [f]} for f in fields]


def test_inspector_cli_strict_finds_no_unportable_schema(live: LiveServer, tmp_path: Path) -> None:
    """``--strict`` lints every listed schema for portability and exits 6 on an error."""
    try:
        clients: NodeClients = install()
    except NodeMissing as exc:
        pytest.skip(f"external MCP client tests skipped: {exc}")
    done = subprocess.run(
        ["npx", "--no-install", "@modelcontextprotocol/inspector", "--cli", live.mcp_url,
         "--method", "tools/list", "--strict"],
        cwd=clients.root,
        env=clients.env(MCP_CATALOG_PATH=str(tmp_path / "catalog.json")),
        capture_output=True,
        text=True,
        timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(json.loads(done.stdout)["tools"]) >= 10
