"""The page in a real headless Chromium, three ways: in process, ``clipsketch web --server`` and ``clipsketch serve
--web`` (both in front of a real ``clipsketch serve``), tiny models: a photo sketched live, Use this, the SVG
downloaded; Cancel; a refused photo; two tabs at once; the token off loopback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image

from tests.web.conftest import SETUPS

pytestmark = pytest.mark.system  # Debian's chromium and chromium-driver

SVG_PATH = "{http://www.w3.org/2000/svg}path"
LONG = 9000
"""Steps of a job that runs until the test ends it."""


def by_css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def wait_for(condition, timeout: float = 120, what: str = "the page"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def cat(tmp_path, chelsea) -> Path:
    path = tmp_path / "cat.png"
    Image.fromarray(chelsea).save(path)
    return path


def load(driver, page) -> None:
    driver.get(page.url)
    wait_for(lambda: by_css(driver, "#where")[0].text, 30, "the page to say where it sketches")


def choose(driver, strokes: list[int], iterations: int) -> None:
    """Ask for ``strokes`` (typed), ``iterations`` steps, one try, the background kept."""
    from selenium.webdriver.support.ui import Select

    for box in by_css(driver, "input[name=count]"):
        if box.is_selected():
            box.find_element("xpath", "..").click()
    by_css(driver, "#other-counts")[0].send_keys(" ".join(map(str, strokes)))
    Select(by_css(driver, "select[name=mask]")[0]).select_by_value("off")
    by_css(driver, "details.more summary")[0].click()
    for name, value in (("iterations", iterations), ("seeds", 1)):
        field = by_css(driver, f"input[name={name}]")[0]
        field.clear()
        field.send_keys(str(value))


def start(driver, photo: Path) -> None:
    by_css(driver, "#photos")[0].send_keys(str(photo))
    wait_for(lambda: by_css(driver, "#picked img"), 10, "the picked photo")
    by_css(driver, "#start")[0].click()


def status(driver) -> str:
    """The status of the newest job (the last card)."""
    shown = by_css(driver, ".job .status")
    return shown[-1].text if shown else ""


@pytest.mark.parametrize("setup", SETUPS)
def test_a_photo_sketches_live_then_use_this_downloads_a_valid_svg(setup, open_page, browser, cat):
    load(browser, open_page(setup))
    choose(browser, [5], LONG)
    start(browser, cat)
    wait_for(lambda: len(by_css(browser, ".job .strokes path")) == 5, what="the first preview's 5 strokes")
    assert "5 strokes: step" in status(browser)
    by_css(browser, ".job .use")[0].click()
    link = wait_for(lambda: by_css(browser, ".job a.svg-download"), what="the SVG download link")[0]
    assert "Kept early" in status(browser)
    link.click()
    svg = browser.downloads / "cat-5-strokes.svg"
    wait_for(svg.exists, 30, "the downloaded SVG")
    root = etree.parse(str(svg)).getroot()
    assert root.get("viewBox") == "0 0 451 300"
    assert len(root.findall(f".//{SVG_PATH}")) == 5


@pytest.mark.parametrize("setup", SETUPS)
def test_cancel_stops_the_sketch_without_results(setup, open_page, browser, cat):
    load(browser, open_page(setup))
    choose(browser, [4], LONG)
    start(browser, cat)
    wait_for(lambda: by_css(browser, ".job .strokes path"), what="a preview")
    by_css(browser, ".job .cancel")[0].click()
    wait_for(lambda: status(browser) == "Cancelled", 60, "Cancelled")
    assert not by_css(browser, ".job .result") and not by_css(browser, ".job .use")[0].is_displayed()


@pytest.mark.parametrize("setup", SETUPS)
def test_a_refused_photo_shows_the_servers_message(setup, open_page, browser, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"these bytes are no picture")
    load(browser, open_page(setup))
    start(browser, broken)
    error = wait_for(lambda: by_css(browser, ".job .error")[0].text, 30, "the refusal")
    assert error == "not a recognised image format (expected PNG, JPEG, WebP, TIFF, BMP or GIF)"
    assert status(browser) == "Failed"


@pytest.mark.parametrize("setup", SETUPS)
def test_two_tabs_sketching_at_once_both_finish(setup, open_page, browser, cat):
    page = open_page(setup)
    tabs = []
    for _ in range(2):
        if tabs:
            browser.switch_to.new_window("tab")
        tabs.append(browser.current_window_handle)
        load(browser, page)
        choose(browser, [3, 4], 40)
        start(browser, cat)
        wait_for(lambda: status(browser) not in ("", "Uploading…"), 30, "the job to be taken")
    for tab in tabs:
        browser.switch_to.window(tab)
        wait_for(lambda: status(browser).startswith("Done"), 180, "the sketch to be done")
        assert len(by_css(browser, ".job .result")) == 2 and len(by_css(browser, ".job a.svg-download")) == 2


@pytest.mark.parametrize("setup", SETUPS)
def test_off_loopback_the_page_asks_for_the_token_and_refuses_jobs_without_it(setup, open_page, browser, cat):
    page = open_page(setup, token="s3cret-token", listen="0.0.0.0:0")
    load(browser, page)
    form = wait_for(lambda: [f for f in by_css(browser, "#token-form") if f.is_displayed()], 10, "the token form")
    choose(browser, [3], 5)
    start(browser, cat)  # without the token: refused
    wait_for(lambda: by_css(browser, ".job .error")[0].text == "this page needs the server's token", 30, "401")
    token = by_css(browser, "#token")[0]
    token.send_keys("wrong")
    by_css(browser, "#token-form button")[0].click()
    wait_for(lambda: by_css(browser, "#token-error")[0].text == "wrong token", 10, "the wrong token refused")
    token.clear()
    token.send_keys("s3cret-token")
    by_css(browser, "#token-form button")[0].click()
    wait_for(lambda: not form[0].is_displayed(), 10, "the token accepted")
    assert not any(cookie["value"] == "s3cret-token" for cookie in browser.get_cookies())
    start(browser, cat)
    wait_for(lambda: status(browser).startswith("Done"), 120, "the sketch to be done")


@pytest.mark.parametrize("setup", ["in-process", "serve-web"])
def test_many_photos_each_get_a_card_and_all_download_as_one_zip(setup, open_page, browser, cat, tmp_path):
    """More photos than a browser opens connections to one server (six): one event stream carries them all."""
    import zipfile

    photos = []
    for k in range(8):
        photos.append(tmp_path / f"cat{k}.png")
        photos[-1].write_bytes(cat.read_bytes())
    load(browser, open_page(setup))
    choose(browser, [2], 3)
    by_css(browser, "#photos")[0].send_keys("\n".join(map(str, photos)))
    wait_for(lambda: len(by_css(browser, "#picked img")) == 8, 10, "the picked photos")
    by_css(browser, "#start")[0].click()
    statuses = lambda: [shown.text for shown in by_css(browser, ".job .status")]  # noqa: E731
    wait_for(lambda: len(statuses()) == 8 and all(text.startswith("Done") for text in statuses()), 240,
             "eight sketches")
    assert [n.text for n in by_css(browser, ".job .name")] == [f"cat{k}.png" for k in range(8)]
    by_css(browser, "#zip-all")[0].click()
    archive = browser.downloads / "clipsketch-sketches.zip"
    wait_for(archive.exists, 30, "the zip")
    names = zipfile.ZipFile(archive).namelist()
    assert {name.split("/")[0] for name in names} == {f"cat{k}" for k in range(8)}
    assert "cat7/cat7-2-strokes.svg" in names


def test_the_page_fits_a_390_px_phone_with_its_results(open_page, browser, cat):
    browser.set_window_size(390, 844)
    load(browser, open_page("in-process"))
    width = browser.execute_script("return window.innerWidth")
    assert width <= 420  # the window is as narrow as asked
    choose(browser, [3, 4], 5)
    start(browser, cat)
    wait_for(lambda: status(browser).startswith("Done"), 120, "the sketch to be done")
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow} px wider than the screen"
    for element in by_css(browser, ".result img") + by_css(browser, "#start"):
        assert element.rect["x"] >= 0 and element.rect["x"] + element.rect["width"] <= width


def test_start_without_a_photo_or_a_stroke_count_says_what_is_missing(open_page, browser, cat):
    load(browser, open_page("in-process"))
    by_css(browser, "#start")[0].click()
    assert by_css(browser, "#form-error")[0].text.startswith("Pick a photo first")
    choose(browser, [], 5)
    start(browser, cat)
    assert by_css(browser, "#form-error")[0].text.startswith("Choose at least one stroke count")
    assert not by_css(browser, ".job")
