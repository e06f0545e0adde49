"""The web page, measured and pictured in a real headless Chromium (Debian's ``chromium`` and ``chromium-driver``),
in front of ``clipsketch web`` with the engine in process (offline backbone, CPU).

Measured (``--json``): the page's time to first paint and first contentful paint (Paint Timing, from navigation
start), and the seconds from pressing Start to the first preview strokes on screen, against the seconds from
``clipsketch sketch``'s models being loaded to its first progress line, on the same photo and options: cold (a
fresh process's first job, which also loads what is loaded on first use) and warm (its second job), ``--runs``
fresh processes of each, medians. Both get the same thread count (``--threads``).

Pictured (``--screenshots DIR``): the page mid-sketch and with results, on a desktop (1280 px) and a phone
(390 px): ``web-desktop-sketching.png``, ``web-desktop-results.png``, ``web-phone-sketching.png``,
``web-phone-results.png``.

    python benchmarks/web.py [--json benchmarks/results/web-offline-cpu.json] [--screenshots out/web] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STROKES = [8, 16]
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars")


def photos(folder: Path) -> list[Path]:
    import skimage.data
    from PIL import Image

    made = []
    for name, picture in (("cat", skimage.data.chelsea()), ("cup", skimage.data.coffee())):
        path = folder / f"{name}.jpg"
        Image.fromarray(picture).save(path, quality=92)
        made.append(path)
    return made


def start_page(threads: int) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "clipsketch.cli", "web", "--backbone", "offline", "--device", "cpu",
         "--listen", "127.0.0.1:0", "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    line = process.stdout.readline()
    if "clipsketch web:" not in line:
        raise RuntimeError(f"clipsketch web did not start: {line!r}")
    return process, next(word for word in line.split() if word.startswith("http"))


def browser(width: int, height: int, profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    if width < 600:
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": height,
                                                                              "pixelRatio": 2}})
    return webdriver.Chrome(options=options, service=Service(executable_path="/usr/bin/chromedriver"))


def find(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def wait(condition, timeout: float = 600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError("the page did not get there")


def choose(driver, strokes: list[int], line: str = "uniform") -> None:
    for box in find(driver, "input[name=count]"):
        if box.is_selected() != (int(box.get_attribute("value")) in strokes):
            box.find_element("xpath", "..").click()
    find(driver, f"input[name=line][value={line}]")[0].find_element("xpath", "..").click()


def paint_times(driver) -> dict:
    entries = driver.execute_script(
        "return performance.getEntriesByType('paint').map(e => [e.name, e.startTime])")
    return {name: round(ms / 1000, 4) for name, ms in entries}


def page_first_preview(url: str, photo: Path, profile: Path) -> dict:
    """Seconds from pressing Start to the first preview strokes drawn, and the paint times of a fresh load."""
    driver = browser(1280, 900, profile)
    try:
        driver.get(url)
        wait(lambda: find(driver, "#where")[0].text)
        painted = paint_times(driver)
        choose(driver, [16])
        find(driver, "#photos")[0].send_keys(str(photo))
        wait(lambda: find(driver, "#picked img"))
        driver.execute_script("""
            window.firstPreview = null;
            new MutationObserver((changes, observer) => {
              if (document.querySelector('.job .strokes path')) {
                window.firstPreview = performance.now(); observer.disconnect(); }
            }).observe(document.getElementById('jobs'), {childList: true, subtree: true});
            document.getElementById('start').addEventListener('click', () => { window.started = performance.now(); },
                                                               {capture: true});""")
        find(driver, "#start")[0].click()
        wait(lambda: driver.execute_script("return window.firstPreview"))
        seconds = driver.execute_script("return (window.firstPreview - window.started) / 1000")
        find(driver, ".job .cancel")[0].click()
        wait(lambda: find(driver, ".job .status")[0].text == "Cancelled", 60)
        return {"start_to_first_preview_s": round(seconds, 3), **painted}
    finally:
        driver.quit()


def cli_first_progress(photo: Path, threads: int, out: Path) -> list[float]:
    """Seconds from ``clipsketch sketch``'s models being loaded to its first progress line (the same photo and
    options as the page's), twice in one process: cold (what is loaded on first use, HED's contour network, is
    loaded then, as in the page's first job) and warm (as in the page's later jobs)."""
    code = f"""
import sys, time
import clipsketch.cli as cli
from clipsketch.session import Progress
from clipsketch.terminal import ProgressBar
real = cli.local_backend
def timed(args):
    backend = real(args)
    print('loaded', time.monotonic(), file=sys.stderr, flush=True)
    return backend
cli.local_backend = timed
def first(self, event):
    if isinstance(event, Progress):
        print('progress', time.monotonic(), file=sys.stderr, flush=True)
        raise SystemExit(0)
ProgressBar.__call__ = first
for _ in range(2):
    try:
        cli.main(['sketch', {str(photo)!r}, '--strokes', '16', '--backbone', 'offline', '--device', 'cpu',
                  '--out', {str(out)!r}])
    except SystemExit:
        pass
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900,
                            env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    marks = [line.split() for line in result.stderr.splitlines() if line.startswith(("loaded ", "progress "))]
    if [name for name, _ in marks] != ["loaded", "progress"] * 2:
        raise RuntimeError(f"no progress lines from clipsketch sketch: {result.stderr[-2000:]}")
    return [round(float(marks[k + 1][1]) - float(marks[k][1]), 3) for k in (0, 2)]


def measure(photo: Path, threads: int, runs: int, folder: Path) -> dict:
    """``runs`` times: a fresh ``clipsketch web``'s first job (cold) and second (warm), and a fresh ``clipsketch
    sketch``'s cold and warm first progress line; the medians and whether each is within the target."""
    page, cli = [], []
    for run in range(runs):
        process, url = start_page(threads)
        try:
            page.append([page_first_preview(url, photo, folder / f"profile-{run}-{k}") for k in range(2)])
        finally:
            process.terminate()
            process.wait(30)
        cli.append(cli_first_progress(photo, threads, folder / "out"))
    result = {"page_runs_cold_warm": page, "cli_runs_cold_warm_s": cli}
    for k, name in enumerate(("cold", "warm")):
        page_s = statistics.median(p[k]["start_to_first_preview_s"] for p in page)
        cli_s = statistics.median(c[k] for c in cli)
        result[name] = {"page_s": page_s, "cli_s": cli_s, "within_target": page_s <= 1.1 * cli_s + 0.2}
    paints = [p[k] for p in page for k in range(2)]
    return {**result, "median_first_paint_s": statistics.median(p.get("first-paint", 0) for p in paints),
            "median_first_contentful_paint_s": statistics.median(p.get("first-contentful-paint", 0) for p in paints)}


SCREENS = {"desktop": (1280, 860), "phone": (390, 844)}


def screenshots(url: str, pictures: list[Path], out: Path, folder: Path, devices: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for device in devices:
        width, height = SCREENS[device]
        driver = browser(width, height, folder / f"profile-{device}")
        try:
            driver.get(url)
            wait(lambda: find(driver, "#where")[0].text)
            choose(driver, STROKES, "tapered")
            find(driver, "#photos")[0].send_keys("\n".join(map(str, pictures)))
            wait(lambda: len(find(driver, "#picked img")) == len(pictures))
            find(driver, "#start")[0].click()
            wait(lambda: len(find(driver, ".job")) == len(pictures) and find(driver, ".job .result"))
            time.sleep(4)  # the 16-stroke count under way
            driver.save_screenshot(str(out / f"web-{device}-sketching.png"))
            wait(lambda: len(find(driver, ".job .status")) and all(
                s.text.startswith("Done") for s in find(driver, ".job .status")))
            driver.execute_script("window.scrollTo(0, document.querySelector('.work').offsetTop - 8)"
                                  if width < 600 else "window.scrollTo(0, 0)")
            time.sleep(0.5)
            driver.save_screenshot(str(out / f"web-{device}-results.png"))
        except TimeoutError:
            driver.save_screenshot(str(out / f"web-{device}-timed-out.png"))
            raise
        finally:
            driver.quit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--screenshots", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--devices", nargs="+", default=list(SCREENS), choices=list(SCREENS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clipsketch-web-bench-") as temporary:
        folder = Path(temporary)
        pictures = photos(folder)
        if args.screenshots:
            process, url = start_page(args.threads)
            try:
                screenshots(url, pictures, args.screenshots, folder, args.devices)
            finally:
                process.terminate()
                process.wait(30)
        if args.json:
            result = {"date": time.strftime("%Y-%m-%d"), "machine": platform.processor() or platform.machine(),
                      "cpus": os.cpu_count(), "load_average_before": os.getloadavg()[0], "threads": args.threads,
                      "backbone": "offline", "strokes": 16, "target": "page <= 1.1 x CLI + 0.2 s",
                      "photo": "scikit-image chelsea (451x300)", **measure(pictures[0], args.threads, args.runs, folder)}
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=2) + "\n")
            print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
