"""The web page three ways (in this process with a tiny engine; ``clipsketch web --server`` and ``clipsketch serve
--web``, both in front of a real ``clipsketch serve`` process with tiny models), and a real headless Chromium
driven by Selenium (Debian's ``chromium`` and ``chromium-driver``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

from clipsketch.session import InProcess
from clipsketch.web.command import PageThread
from clipsketch.web.jobs import PREVIEW_EVERY

from tests.conftest import TINY_SERVE_OPTIONS, tiny_engine

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SETUPS = ["in-process", "web-server", "serve-web"]
"""``clipsketch web`` with the engine here; ``clipsketch web --server``; ``clipsketch serve --web``."""


@dataclass
class Page:
    url: str
    setup: str


def _read_url(process: subprocess.Popen, marker: str) -> str:
    line = process.stdout.readline()
    assert marker in line, process.stderr.read() if process.poll() is not None else line
    return next(word for word in line.split() if word.startswith("http"))


@pytest.fixture
def open_page(serve_process, tiny_model_configs):
    """``open_page(setup, token=None, listen="127.0.0.1:0")`` → :class:`Page`; everything stops at the end."""
    threads, processes = [], []

    def start(setup: str, token: str | None = None, listen: str = "127.0.0.1:0") -> Page:
        secret = ["--token", token] if token else []
        if setup == "in-process":
            page = PageThread(listen, [(InProcess(tiny_engine(), PREVIEW_EVERY), 1)], token, "in this process")
            threads.append(page.start())
            _wait_listening(page.url)
            return Page(page.url, setup)
        if setup == "serve-web":
            process, _ = serve_process(*TINY_SERVE_OPTIONS, "--web", listen, *secret)
            return Page(_read_url(process, "web page on"), setup)
        _, address = serve_process(*TINY_SERVE_OPTIONS, *secret)
        process = subprocess.Popen(
            [sys.executable, "-m", "clipsketch.cli", "web", "--server", address, "--listen", listen, "--no-browser",
             *secret], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"})
        processes.append(process)
        return Page(_read_url(process, "clipsketch web:"), setup)

    yield start
    for page in threads:
        page.stop()
    for process in processes:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_listening(url: str) -> None:
    import urllib.request

    for _ in range(100):
        try:
            urllib.request.urlopen(url + "api/info", timeout=2).read()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"the page at {url} does not answer")


@pytest.fixture
def browser(tmp_path):
    """A headless Chromium (a fresh profile, downloads into ``browser.downloads``)."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("needs Debian's chromium and chromium-driver (make test installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()
