"""Pictures of sketches at the photo's size: previews and PNG files (no gradients needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from clipsketch.core.frame import Frame
from clipsketch.core.raster import Raster, rasterize
from clipsketch.core.strokes import Strokes

MAX_RENDER_PIXELS = 64_000_000


def render_in_frame(strokes: Strokes, frame: Frame, scale: float = 1.0) -> Raster:
    """Rasterize ``strokes`` (canvas pixels) on the frame's target rectangle, ``scale`` image pixels per target
    unit: ``rgb [B, 3, round(height * scale), round(width * scale)]`` over white."""
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    height, width = max(round(frame.height * scale), 1), max(round(frame.width * scale), 1)
    if height * width > MAX_RENDER_PIXELS:
        raise ValueError(f"a {width}x{height} picture is too large to render (limit {MAX_RENDER_PIXELS} pixels)")
    with torch.no_grad():
        points = frame.to_target(strokes.points) * scale
        return rasterize(points, strokes.widths * frame.scale * scale, strokes.colors, (height, width))


def save_png(image: torch.Tensor, path: Path) -> None:
    """Write ``image [3, H, W]`` (0..1) as an 8-bit RGB PNG."""
    pixels = (image.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels, "RGB").save(path)
