"""Try a tool in Chromium: answers drawn over real images, failures as envelopes."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from dashboard.dashboard_browser import QR_TEXT, astronaut_png, not_an_image, qr_png


def choose(page: Page, plugin: str, tool: str) -> None:
    page.goto(f"/ui/try?plugin={plugin}&tool={tool}")
    expect(page.locator("#tool-select")).to_have_value(tool)


def upload(page: Page, name: str, data: bytes, mime: str = "image/png") -> None:
    page.set_input_files("#file-input", files=[{"name": name, "mimeType": mime, "buffer": data}])


def test_faces_on_a_photo_draws_a_box_over_the_face(page: Page) -> None:
    choose(page, "faces", "detect")
    upload(page, "astronaut.png", astronaut_png())
    page.click("#run-button")
    box = page.locator("#overlay g[data-kind='faces'] rect")
    expect(box).to_have_count(1)
    x, y, w, h = (float(box.get_attribute(a) or "nan") for a in ("x", "y", "width", "height"))
    # The astronaut's face: roughly x 170-270, y 60-170 in the 512x512 photo.
    assert 150 < x + w / 2 < 290 and 50 < y + h / 2 < 190, (x, y, w, h)
    # Drawn over the image: the overlay covers the picture exactly.
    image = page.locator("#preview").bounding_box()
    overlay = page.locator("#overlay").bounding_box()
    assert image and overlay
    assert abs(image["x"] - overlay["x"]) < 1 and abs(image["width"] - overlay["width"]) < 1
    expect(page.locator("#legend")).to_contain_text("faces (1)")
    expect(page.locator("#json-output")).to_contain_text('"count": 1')


def test_barcode_on_a_generated_qr_code_shows_its_text(page: Page) -> None:
    choose(page, "barcode", "read")
    upload(page, "qr.png", qr_png())
    page.click("#run-button")
    finding = page.locator(".findings li[data-kind='barcodes']")
    expect(finding).to_have_count(1)
    expect(finding).to_contain_text(QR_TEXT)
    expect(finding).to_contain_text("QRCode")
    expect(page.locator("#overlay g[data-kind='barcodes'] polygon")).to_have_count(1)
    expect(page.locator("#overlay g[data-kind='barcodes'] text")).to_have_text(QR_TEXT)


def test_image_info_shows_colour_swatches(page: Page) -> None:
    choose(page, "image_info", "describe")
    page.fill("#opt-dominant_colors", "3")
    upload(page, "astronaut.png", astronaut_png())
    page.click("#run-button")
    expect(
        page.locator(".swatch-group", has_text="dominant colors").locator(".swatch")
    ).to_have_count(3)
    expect(page.locator(".swatch-group", has_text="mean color").locator(".swatch")).to_have_count(1)


def test_a_file_that_is_not_an_image_shows_the_error_envelope(page: Page) -> None:
    choose(page, "image_info", "describe")
    upload(page, "notes.txt", not_an_image(), mime="text/plain")
    page.click("#run-button")
    envelope = page.locator(".envelope")
    expect(envelope).to_have_attribute("data-type", "ValidationError")
    expect(envelope).to_have_attribute("data-code", "invalid_input")
    expect(envelope).to_contain_text("HTTP 400")
    expect(envelope.locator("pre")).to_contain_text('"type": "ValidationError"')
    expect(envelope.locator("pre")).not_to_contain_text("Traceback")
    expect(page.locator("#json-box")).to_be_hidden()


def test_a_tool_that_raises_shows_the_execution_error(page: Page) -> None:
    choose(page, "raises", "boom")
    expect(page.locator("#image-input")).to_be_hidden()  # the tool takes no image
    page.click("#run-button")
    envelope = page.locator(".envelope")
    expect(envelope).to_have_attribute("data-code", "tool_error")
    expect(envelope).to_contain_text("ExecutionError")
    expect(envelope).to_contain_text("HTTP 500")


def test_options_form_follows_the_input_schema(page: Page) -> None:
    choose(page, "faces", "detect")
    page.click("#options summary")
    expect(page.locator("#opt-model")).to_be_visible()
    options = page.locator("#opt-model option")
    expect(options).to_have_text(["default (frontal)", "frontal", "frontal_alt2", "profile"])
    expect(page.locator("#opt-min_size")).to_have_attribute("min", "8")
    expect(page.locator("#opt-image")).to_have_count(0)  # the page provides the image
    # A value the schema refuses comes back as the server's validation envelope.
    page.fill("#opt-min_neighbors", "999")
    upload(page, "astronaut.png", astronaut_png())
    page.click("#run-button")
    expect(page.locator(".envelope")).to_have_attribute("data-code", "invalid_input")
    expect(page.locator(".envelope")).to_contain_text("min_neighbors")
