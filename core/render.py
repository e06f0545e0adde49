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
        return rasterize(points, strokes.widths * frame.scale * scale, strokes.colors, (height, width),
                         taper=strokes.taper)


def save_png(image: torch.Tensor, path: Path) -> None:
    """Write ``image [3, H, W]`` (0..1) as an 8-bit RGB PNG."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    _to_image(image).save(path)


def contact_sheet(photo: Image.Image, sketches: list[tuple[int, Strokes, Frame]], height: int = 320) -> Image.Image:
    """``photo`` and each ``(stroke count, strokes, frame)`` sketch side by side, labelled, ``height`` pixels
    tall; every frame maps its canvas onto the photo's rectangle."""
    scale = height / photo.height
    tiles = [("photo", photo.convert("RGB").resize((max(round(photo.width * scale), 1), height), Image.LANCZOS))]
    for count, strokes, frame in sorted(sketches, key=lambda item: item[0]):
        tiles.append((f"{count} strokes", _to_image(render_in_frame(strokes, frame, height / frame.height).rgb[0])))
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


def _to_image(image: torch.Tensor) -> Image.Image:
    pixels = (image.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    return Image.fromarray(pixels, "RGB")
