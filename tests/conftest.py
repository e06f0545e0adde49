"""Shared fixtures: real SVG renderers, tiny models, the cat photo, and a real server on 127.0.0.1 (in this
process, or a `clipsketch serve` process).

Under CI (``CI=true``) a skipped test fails the run, except the ones that need hardware no CI machine has (a CUDA
GPU): everything else the tests need, ``make test`` installs, so a skip there would hide a broken path.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from clipsketch.client import SketchClient
from clipsketch.core.engine import Engine
from clipsketch.server.app import SketchServer


def _to_rgb(png: bytes) -> np.ndarray:
    """PNG bytes to ``[H, W, 3]`` float64 in 0..1, composited over white."""
    image = Image.open(io.BytesIO(png)).convert("RGBA")
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, image).convert("RGB"), dtype=np.float64) / 255


def render_resvg(svg: str) -> np.ndarray:
    import resvg_py

    return _to_rgb(bytes(resvg_py.svg_to_bytes(svg_string=svg)))


def render_cairosvg(svg: str) -> np.ndarray:
    import cairosvg

    return _to_rgb(cairosvg.svg2png(bytestring=svg.encode()))


@pytest.fixture(params=[render_resvg, render_cairosvg], ids=["resvg", "cairosvg"])
def svg_renderer(request):
    """A real SVG renderer: ``svg text -> [H, W, 3]`` in 0..1 over white."""
    return request.param


MODEL_CONFIGS = Path(__file__).parent / "data" / "model_configs"
TINY_SERVE_OPTIONS = ["--weights", "random", "--loss-model", "tiny-rn", "--saliency-model", "tiny-vit",
                      "--model-config-dir", str(MODEL_CONFIGS), "--device", "cpu"]


@pytest.fixture(scope="session", autouse=True)
def tiny_model_configs():
    """Register the tiny open_clip configs (``tiny-rn``, ``tiny-vit``) used to keep engine tests fast."""
    import open_clip

    open_clip.add_model_config(MODEL_CONFIGS)


@pytest.fixture(scope="session")
def chelsea():
    """The cat photo shipped with scikit-image, ``[300, 451, 3]`` uint8."""
    import skimage.data

    return skimage.data.chelsea()


# --- a real gRPC server on 127.0.0.1 (port 0) running the engine with tiny models ---


def tiny_engine() -> Engine:
    torch.manual_seed(0)
    return Engine(backbone="clip", weights="random", loss_model="tiny-rn", saliency_model="tiny-vit", device="cpu")


@pytest.fixture
def make_server(tiny_model_configs):
    """Start servers (keyword arguments go to SketchServer) and wait for their models, unless ``load_engine`` is
    given; all are stopped at the end of the test."""
    servers = []

    def start(load_engine=None, **settings) -> SketchServer:
        settings.setdefault("listen", "127.0.0.1:0")
        server = SketchServer(load_engine or tiny_engine, **settings).start()
        servers.append(server)
        if load_engine is None:
            assert server.models.ready.wait(60) and server.models.engine is not None
        return server

    yield start
    for server in servers:
        server.stop(grace=1)


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.fixture
def client(server):
    with SketchClient(server.address) as connection:
        yield connection


@pytest.fixture
def serve_process():
    """Start `clipsketch serve --preload` processes on a free loopback port (arguments added to the command);
    returns ``(process, address)`` once it listens with its models loaded. All are killed at the end of the test."""
    processes = []

    def start(*arguments: str):
        process = subprocess.Popen(
            [sys.executable, "-m", "clipsketch.cli", "serve", "--listen", "127.0.0.1:0", "--preload", *arguments],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},  # several servers share the test machine's cores
        )
        processes.append(process)
        line = process.stdout.readline()  # "clipsketch serve: listening on HOST:PORT" once models are loaded
        assert "listening on" in line, process.stderr.read() if process.poll() is not None else line
        return process, line.rsplit(" ", 1)[1].strip()

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="session")
def photo_bytes(chelsea) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(chelsea).save(buffer, "PNG")
    return buffer.getvalue()


# --- test folders whose tools this machine lacks: left out with a line saying why, never under CI ---

INKSCAPE_PYTHON = "/usr/bin/python3"
INKSCAPE_INKEX = "/usr/share/inkscape/extensions"


def _folders_without_their_tools() -> dict[str, str]:
    """Test folders (under ``tests/``) whose tools are missing here, and why they are left out."""
    if os.path.isfile(INKSCAPE_PYTHON) and os.path.isdir(INKSCAPE_INKEX):
        return {}
    return {"inkscape_extension": f"no Inkscape Python with inkex ({INKSCAPE_PYTHON}, {INKSCAPE_INKEX}); "
                                  "`make test` installs them"}


LEFT_OUT = {} if os.environ.get("CI") == "true" else _folders_without_their_tools()
"""Under CI every folder is collected: a missing tool fails its tests there."""


def pytest_ignore_collect(collection_path: Path, config):
    if collection_path.parent == Path(__file__).parent and collection_path.name in LEFT_OUT:
        return True
    return None


def pytest_report_header(config):
    return [f"left out tests/{folder}/: {why}" for folder, why in LEFT_OUT.items()]


# --- markers: what `make test-quick` leaves out ---

SYSTEM_FOLDERS = ("inkscape_extension",)
"""Test folders that need Debian packages throughout (Inkscape, its own Python with inkex, GTK)."""


def pytest_collection_modifyitems(items):
    for item in items:
        renderer = getattr(getattr(item, "callspec", None), "params", {}).get("svg_renderer")
        if Path(item.path).parent.name in SYSTEM_FOLDERS or renderer is render_cairosvg:  # cairo: libcairo2
            item.add_marker(pytest.mark.system)


# --- no silent skips in CI ---

ALLOWED_SKIP_REASONS = ("needs a CUDA GPU",)
_unexpected_skips: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped and os.environ.get("CI") == "true":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if not any(allowed in reason for allowed in ALLOWED_SKIP_REASONS):
            _unexpected_skips.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session, exitstatus):
    if _unexpected_skips:
        print("\nunexpected skips under CI (make test installs what they need):\n  " + "\n  ".join(_unexpected_skips))
        session.exitstatus = 1
