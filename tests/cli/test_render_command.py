"""``clipsketch render`` end to end, as a user runs it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from clipsketch.core.frame import Frame
from clipsketch.core.strokes import Strokes, random_points
from clipsketch.core.svg import strokes_to_svg

from conftest import render_resvg


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "clipsketch.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_render_writes_a_png_like_a_real_svg_renderer(tmp_path):
    strokes = Strokes.from_points(random_points(1, 10, 224, generator=torch.Generator().manual_seed(9)))
    svg = strokes_to_svg(strokes, frame=Frame.padded(300, 200, 224))
    path = tmp_path / "sketch.svg"
    path.write_text(svg)
    result = run_cli("render", str(path))
    assert result.returncode == 0, result.stderr
    png = np.asarray(Image.open(tmp_path / "sketch.png").convert("RGB"), dtype=np.float64) / 255
    assert png.shape == (200, 300, 3)
    assert np.abs(png - render_resvg(svg)).mean() < 0.01


@pytest.mark.slow
def test_render_bad_input_gives_a_clear_message(tmp_path):
    missing = run_cli("render", str(tmp_path / "nope.svg"))
    assert missing.returncode == 2 and "No such file" in missing.stderr and "Traceback" not in missing.stderr
    broken = tmp_path / "broken.svg"
    broken.write_text("<svg")
    result = run_cli("render", str(broken))
    assert result.returncode == 2 and "not a well-formed SVG" in result.stderr and "Traceback" not in result.stderr
