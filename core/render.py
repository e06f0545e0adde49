"""Pictures of sketches at the photo's size: previews and PNG files (no gradients needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

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
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    _to_image(image).save(path)


def contact_sheet(result, height: int = 320) -> Image.Image:
    """The photo as the engine saw it and every stroke count's sketch side by side, labelled, ``height`` pixels
    tall (``result`` is a :class:`~clipsketch.core.sketch.SketchResult`)."""
    frame = result.frame
    scale = height / frame.height
    tiles = [("photo", _photo_tile(result.canvas, frame, scale))]
    for count, sketch in sorted(result.sketches.items()):
        image = render_in_frame(sketch.strokes, frame, scale).rgb[0]
        tiles.append((f"{count} strokes", _to_image(image)))
    label_height, gap = 24, 8
    width = sum(tile.width for _, tile in tiles) + gap * (len(tiles) - 1)
    sheet = Image.new("RGB", (width, height + label_height), "white")
    draw = ImageDraw.Draw(sheet)
    x = 0
    for label, tile in tiles:
        sheet.paste(tile, (x, label_height))
        draw.text((x + 4, 4), label, fill="black")
        x += tile.width + gap
    return sheet


def _photo_tile(canvas: torch.Tensor, frame: Frame, scale: float) -> Image.Image:
    """The framed canvas ``[1, 3, S, S]`` cropped back to the photo's rectangle at ``scale`` pixels per unit."""
    square = _to_image(canvas[0])
    left, top = -frame.offset_x / frame.scale, -frame.offset_y / frame.scale
    box = (left, top, left + frame.width / frame.scale, top + frame.height / frame.scale)
    size = (max(round(frame.width * scale), 1), max(round(frame.height * scale), 1))
    return square.resize(size, Image.BICUBIC, box=box)


def _to_image(image: torch.Tensor) -> Image.Image:
    pixels = (image.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    return Image.fromarray(pixels, "RGB")
