"""What a call costs an agent: results within a token budget with a working continuation,
rendered images within a byte budget, an image handed over once, names every host takes.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import bpe_openai
import httpx
import jsonschema_rs
import pytest
from helpers import b64, builtin_sources, png_bytes
from live_server import LiveServer
from mcp import Client, MCPError
from PIL import Image
from pydantic import BaseModel
from skimage import data as skdata
from visor_test_plugins.finder import FinderPlugin

from app.plugins.base import Plugin, tool
from app.plugins.loader.plugin_loader import source_for_class
from app.settings import Settings

pytestmark = pytest.mark.anyio

RESULT_TOKENS = 20_000  # the default budget
RENDER_BYTES = 200 * 1024  # the default rendered-image budget


class Word(BaseModel):
    box: list[int]
    text: str
    confidence: float
    line: int


class Line(BaseModel):
    box: list[int]
    text: str


class Page(BaseModel):
    text: str
    lines: list[Line]
    words: list[Word]
    total_items: int


class PageInput(BaseModel):
    words: int


class DensePagePlugin(Plugin):
    """Stands for an OCR plugin reading a dense 2400x3200 page (real OCR of one takes
    15 to 42 s): as many words as asked, in the shape OCR results have."""

    name = "dense"
    version = "1.0.0"
    description = "A dense page's words."
    isolation = "in_process"

    @tool(description="Read the words of a dense page.")
    def read_words(self, args: PageInput) -> Page:
        words = [
            Word(
                box=[40 + (i % 12) * 190, 60 + (i // 12) * 38, 150 + i % 37, 30],
                text=f"word{i}",
                confidence=round(0.5 + (i % 50) / 100, 2),
                line=i // 12,
            )
            for i in range(args.words)
        ]
        lines = [
            Line(
                box=[40, 60 + n * 38, 2300, 30], text=" ".join(w.text for w in words[n * 12 :][:12])
            )
            for n in range((args.words + 11) // 12)
        ]
        text = "\n".join(line.text for line in lines)
        return Page(text=text, lines=lines, words=words, total_items=len(words))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("mcp-budgets") / "data",
        force_in_process=True,
        _env_file=None,
    )
    sources = [
        source_for_class(DensePagePlugin),
        source_for_class(FinderPlugin),
        *builtin_sources("image_info"),
    ]
    server = LiveServer(settings, sources).start()
    yield server
    server.stop()


def _tokens(text: str) -> int:
    return len(bpe_openai.get_encoding("o200k_base").encode(text))


async def test_a_dense_page_fits_the_budget_and_the_rest_pages_in(live: LiveServer) -> None:
    full = httpx.post(
        f"{live.url}/v1/plugins/dense/tools/read_words/run", json={"words": 2200}, timeout=60
    ).json()["result"]
    assert _tokens(json.dumps(full, separators=(",", ":"))) > 3 * RESULT_TOKENS  # as measured

    async with Client(live.mcp_url) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        result = await client.call_tool("dense.read_words", {"words": 2200})
        assert not result.is_error
        text, note = result.content[0].text, result.content[1].text  # type: ignore[union-attr]
        link = result.content[2]
        pages: list[Any] = []
        ask = json.loads(re.search(r"results\.page with (\{.*?\})", note).group(1))  # type: ignore[union-attr]
        while ask["offset"] is not None:
            page = await client.call_tool("results.page", ask)
            assert not page.is_error, page.content
            assert _tokens(page.content[0].text) <= RESULT_TOKENS  # type: ignore[union-attr]
            pages += page.structured_content["items"]  # type: ignore[index]
            ask = {**ask, "offset": page.structured_content["next_offset"]}  # type: ignore[index]
        whole = await client.read_resource(link.uri)  # type: ignore[union-attr]

    assert _tokens(text) <= RESULT_TOKENS  # what the model reads, measured with o200k
    fitted = result.structured_content
    assert json.loads(text) == fitted
    schema = listed["dense.read_words"].output_schema
    assert jsonschema_rs.validator_for(schema).is_valid(fitted)  # the same shape, shorter
    assert fitted["total_items"] == 2200 and 0 < len(fitted["words"]) < 2200  # type: ignore[index]
    assert "/words holds" in note and "results.page" in note
    assert link.type == "resource_link" and link.uri.startswith("visor://results/")  # type: ignore[union-attr]
    assert fitted["words"] + pages == full["words"]  # type: ignore[index]
    assert json.loads(whole.contents[0].text) == full  # type: ignore[union-attr]


async def test_a_result_that_fits_is_untouched(live: LiveServer) -> None:
    async with Client(live.mcp_url) as client:
        result = await client.call_tool("dense.read_words", {"words": 40})
    assert [block.type for block in result.content] == ["text"]
    assert len(result.structured_content["words"]) == 40  # type: ignore[index]


async def test_another_callers_result_cannot_be_paged(live: LiveServer) -> None:
    async with Client(live.mcp_url) as client:
        missing = await client.call_tool(
            "results.page", {"result": "r_" + "0" * 24, "path": "/words", "offset": 0}
        )
        bad_path = await client.call_tool(
            "results.page", {"result": "r_x", "path": "words", "offset": -1}
        )
    assert missing.is_error and '"not_found"' in missing.content[0].text  # type: ignore[union-attr]
    assert bad_path.is_error and '"invalid_input"' in bad_path.content[0].text  # type: ignore[union-attr]


def _photo(size: tuple[int, int]) -> bytes:
    """A real photograph (scikit-image's astronaut), enlarged to ``size``, as JPEG."""
    image = Image.fromarray(skdata.astronaut()).resize(size, Image.Resampling.BICUBIC)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


async def test_a_rendered_photo_fits_its_byte_budget(live: LiveServer) -> None:
    photo = _photo((3000, 2000))
    async with Client(live.mcp_url) as client:
        rendered = await client.call_tool("finder.find", {"image": b64(photo), "render": True})

    assert not rendered.is_error, rendered.content
    picture = rendered.content[1]
    assert picture.mime_type == "image/jpeg"  # type: ignore[union-attr]
    data = base64.b64decode(picture.data)  # type: ignore[union-attr]
    assert len(data) <= RENDER_BYTES
    drawn = Image.open(io.BytesIO(data))
    assert max(drawn.size) <= 1600 and drawn.size[0] / drawn.size[1] == pytest.approx(1.5, 0.01)
    # REST still answers a PNG at full drawing quality.
    rest = httpx.post(
        f"{live.url}/v1/plugins/finder/tools/find/run?render=true",
        json={"image": b64(photo)},
        timeout=60,
    ).json()
    assert Image.open(io.BytesIO(base64.b64decode(rest["rendered_image"]))).format == "PNG"


async def test_an_agent_hands_an_image_over_once_and_refers_to_it(live: LiveServer) -> None:
    async with Client(live.mcp_url) as client:
        uploaded = await client.call_tool(
            "files.upload", {"data": "data:image/png;base64," + b64(png_bytes((33, 22)))}
        )
        assert not uploaded.is_error, uploaded.content
        ref = uploaded.structured_content
        by_id = await client.call_tool("image_info.describe", {"image_ref": ref["image_ref"]})  # type: ignore[index]
        by_uri = await client.call_tool("image_info.describe", {"image_ref": ref["uri"]})  # type: ignore[index]
        resources = [str(r.uri) for r in (await client.list_resources()).resources]
        garbage = await client.call_tool("files.upload", {"data": b64(b"not an image")})

    assert ref["uri"] == f"visor://files/{ref['image_ref']}"  # type: ignore[index]
    assert uploaded.content[1].type == "resource_link"
    assert ref["uri"] in resources  # type: ignore[index]
    for described in (by_id, by_uri):
        assert not described.is_error and described.structured_content["width"] == 33  # type: ignore[index]
    assert garbage.is_error and '"invalid_input"' in garbage.content[0].text  # type: ignore[union-attr]


# -- names and grouping ----------------------------------------------------------------------

HOST_NAME_RULE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # OpenAI's and Anthropic's rule


@pytest.fixture(scope="module")
def underscored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path_factory.mktemp("mcp-names") / "data",
        force_in_process=True,
        mcp_tool_separator="_",
        mcp_tools="image_info.*,dense.*",
        _env_file=None,
    )
    sources = [source_for_class(DensePagePlugin), source_for_class(FinderPlugin)]
    server = LiveServer(settings, [*sources, *builtin_sources("image_info")]).start()
    yield server
    server.stop()


async def test_underscore_names_fit_every_hosts_rule_and_calls_take_either(
    underscored: LiveServer,
) -> None:
    image = b64(png_bytes((10, 8)))
    async with Client(underscored.mcp_url) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        underscore = await client.call_tool("image_info_describe", {"image": image})
        dotted = await client.call_tool("image_info.describe", {"image": image})

    assert names == {"image_info_describe", "dense_read_words", "files_upload", "results_page"}
    assert all(HOST_NAME_RULE.match(name) for name in names)
    assert not underscore.is_error and not dotted.is_error


async def test_tools_are_offered_by_setting_and_narrowed_per_client(
    underscored: LiveServer,
) -> None:
    async with Client(f"{underscored.mcp_url}?tools=dense.*") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        with pytest.raises(MCPError, match="Unknown tool"):
            await client.call_tool("image_info_describe", {"image": b64(png_bytes())})
        with pytest.raises(MCPError, match="Unknown tool"):  # not offered by the setting
            await client.call_tool("finder.find", {"image": b64(png_bytes())})
    assert names == {"dense_read_words", "files_upload", "results_page"}
