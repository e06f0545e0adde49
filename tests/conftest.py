"""Shared fixtures: real SVG renderers to hold the rasterizer to."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image


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


@pytest.fixture(scope="session", autouse=True)
def tiny_model_configs():
    """Register the tiny open_clip configs (``tiny-rn``, ``tiny-vit``) used to keep engine tests fast."""
    from pathlib import Path

    import open_clip

    open_clip.add_model_config(Path(__file__).parent / "data" / "model_configs")


@pytest.fixture(scope="session")
def chelsea():
    """The cat photo shipped with scikit-image, ``[300, 451, 3]`` uint8."""
    import skimage.data

    return skimage.data.chelsea()
