"""The studio's page in a real browser: Playwright (pip) driving Debian's chromium
(``scripts/setup.sh`` installs it; Playwright's own browser download needs the network) against a
real ``neuralpaint serve`` on 127.0.0.1. Upload a bundled photo, press Paint, see the live canvas
change, download the PNG and SVG and check them, stop a painting, try a bad file and see the
error. Paintings are small (64 px, 30 rectangle strokes, no animation)."""
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed (pip install 'neuralpaint[web]')")
pytest.importorskip("playwright", reason="playwright is not installed (pip install 'neuralpaint[test]')")

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from neuralpaint.strokesfile import load_strokes  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (scripts/setup.sh installs "
                                "Debian's chromium: apt-get install chromium)")
TIMEOUT_MS = 40_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("studio")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "neuralpaint", "serve", "--port", "0", "--data", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    assert line.startswith("neuralpaint studio: http://127.0.0.1:"), line
    yield line.split()[2]
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server)
    expect(page.locator("input[name=stroke][value=rectangle]")).to_have_count(1)
    yield page
    context.close()


def small_settings(page, strokes=30, size=64):
    page.check("input[name=stroke][value=rectangle]")
    page.fill("#max_strokes", str(strokes))
    page.fill("#size", str(size))
    page.click("summary:has-text('Outputs')")
    page.uncheck("#animation")


def test_paint_a_photo_watch_it_form_and_download_it(page, tmp_path):
    page.get_by_test_id("photo-input").set_input_files(str(REPO / "test_images" / "chelsea.png"))
    expect(page.locator("#photo-name")).to_contain_text("chelsea.png")
    small_settings(page)
    page.get_by_test_id("paint-button").click()
    canvas = page.get_by_test_id("live-canvas")
    pictures, texts = set(), set()
    end = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < end:
        text = page.get_by_test_id("progress").inner_text()
        texts.add(text)
        if text.startswith("Done"):
            break
        if int(canvas.get_attribute("data-frames")) > 0:
            pictures.add(canvas.evaluate("c => c.toDataURL()"))
        time.sleep(0.05)
    assert text.startswith("Done"), texts
    assert len(pictures) >= 3, f"the live canvas changed {len(pictures)} times"
    assert any("strokes" in t and "/ 30" in t for t in texts), texts
    expect(page.get_by_test_id("stop-button")).to_be_disabled()

    with page.expect_download() as download:
        page.get_by_test_id("download-png").click()
    png = tmp_path / "painting.png"
    download.value.save_as(png)
    picture = cv2.imread(str(png))
    assert picture.shape == (43, 64, 3) and picture.std() > 5
    with page.expect_download() as download:
        page.get_by_test_id("download-svg").click()
    svg = tmp_path / "painting.svg"
    download.value.save_as(svg)
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and len(list(root.iter())) > 30
    with page.expect_download() as download:
        page.get_by_test_id("download-strokes").click()
    npz = tmp_path / "painting_strokes.npz"
    download.value.save_as(npz)
    assert load_strokes(npz).n == 30
    # the history shows it, with its thumbnail
    expect(page.locator("#history img").first).to_be_visible()


def test_a_bad_file_shows_one_clear_error(page):
    page.get_by_test_id("photo-input").set_input_files(
        {"name": "notes.png", "mimeType": "image/png", "buffer": b"these are my notes, not a photo\n"})
    page.get_by_test_id("paint-button").click()
    error = page.get_by_test_id("error")
    expect(error).to_be_visible()
    expect(error).to_have_text("the photo is not an image (PNG, JPEG, WebP, BMP, TIFF or GIF)")
    expect(page.get_by_test_id("paint-button")).to_be_enabled()


def test_stop_keeps_the_strokes_finished_so_far(page):
    page.click("button[aria-label^='Bundled photo: coffee']")
    expect(page.locator("#photo-name")).to_contain_text("coffee.jpg")
    small_settings(page, strokes=200, size=96)
    page.get_by_test_id("paint-button").click()
    expect(page.get_by_test_id("progress")).to_contain_text("strokes", timeout=TIMEOUT_MS)
    page.wait_for_function("() => /[1-9]\\d* \\/ 200 strokes/.test(document.querySelector('#progress').textContent)",
                           timeout=TIMEOUT_MS)
    page.get_by_test_id("stop-button").click()
    expect(page.get_by_test_id("progress")).to_contain_text("Stopped: kept the", timeout=TIMEOUT_MS)
    expect(page.get_by_test_id("download-png")).to_be_visible()


def test_every_control_has_a_label_and_the_keyboard_reaches_paint(page):
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, button')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
        .map(e => e.outerHTML)""")
    assert unlabelled == []
    reached = []
    for _ in range(3):  # the header's API link, then the photo input: the first control of the form
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.dataset.testid || document.activeElement.tagName"))
    assert "photo-input" in reached[:2], reached
    page.click("summary:has-text('Style')")
    page.locator("input[name=style_choice]").first.focus()
    page.keyboard.press("ArrowRight")  # a real radio group: arrow keys choose the next style
    assert page.locator("input[name=style_choice]").nth(1).is_checked()
    page.get_by_test_id("paint-button").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("error")).to_have_text("Choose a photo first (or a bundled one).")
