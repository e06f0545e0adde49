"""Where a sketch goes: the transform from the photo's pixels to the document's user units, and back.

An ``<image>`` draws a ``photo_width × photo_height`` raster (EXIF orientation applied, as Inkscape draws it) into
its ``x, y, width, height`` box as ``preserveAspectRatio`` says (default ``xMidYMid meet``), and then through its
composed transform (its own and its ancestors', up to but not including the root ``<svg>``, whose viewBox maps
user units to the page and applies to the new layers too). The box's numbers are user units when unitless (mm in
Inkscape's default A4 document), and CSS lengths otherwise (``2mm`` is 7.56 user units, as SVG says). A sketch
whose coordinates are photo pixels lands exactly on the image when its points go through the same two steps.
"""

from __future__ import annotations

import inkex
from lxml import etree

_ALIGNS = {"min": 0.0, "mid": 0.5, "max": 1.0}


def parse_preserve_aspect_ratio(value: str | None) -> tuple[str, float, float]:
    """``("none" | "meet" | "slice", x alignment 0..1, y alignment 0..1)`` from a ``preserveAspectRatio`` value."""
    words = (value or "").split()
    if words and words[0] == "defer":
        words = words[1:]
    align = words[0] if words else "xMidYMid"
    if align == "none":
        return "none", 0.5, 0.5
    if len(align) != 8 or align[0] != "x" or align[4] != "Y":
        raise ValueError(f"unsupported preserveAspectRatio {value!r}")
    try:
        x_align, y_align = _ALIGNS[align[1:4].lower()], _ALIGNS[align[5:8].lower()]
    except KeyError:
        raise ValueError(f"unsupported preserveAspectRatio {value!r}") from None
    mode = words[1] if len(words) > 1 else "meet"
    if mode not in ("meet", "slice"):
        raise ValueError(f"unsupported preserveAspectRatio {value!r}")
    return mode, x_align, y_align


def photo_to_box(photo_size: tuple[float, float], box: tuple[float, float, float, float],
                 preserve_aspect_ratio: str | None = None) -> inkex.Transform:
    """Photo pixels → the image's user space, for a ``box = (x, y, width, height)`` in user units."""
    photo_width, photo_height = photo_size
    x, y, width, height = box
    if photo_width <= 0 or photo_height <= 0 or width <= 0 or height <= 0:
        raise ValueError("the image and its box must have a positive size")
    mode, x_align, y_align = parse_preserve_aspect_ratio(preserve_aspect_ratio)
    scale_x, scale_y = width / photo_width, height / photo_height
    if mode == "none":
        return inkex.Transform((scale_x, 0.0, 0.0, scale_y, x, y))
    scale = min(scale_x, scale_y) if mode == "meet" else max(scale_x, scale_y)
    return inkex.Transform((scale, 0.0, 0.0, scale, x + (width - photo_width * scale) * x_align,
                            y + (height - photo_height * scale) * y_align))


def image_box(image: inkex.Image, photo_size: tuple[float, float]) -> tuple[float, float, float, float]:
    """The image's ``(x, y, width, height)`` in its user units; a missing or zero size is the picture's own
    size in pixels (CSS px are user units there)."""
    x, y, width, height = image.left, image.top, image.width, image.height
    if width <= 0 or height <= 0:
        width, height = float(photo_size[0]), float(photo_size[1])
    return x, y, width, height


def composed_transform(element: inkex.BaseElement) -> inkex.Transform:
    """The element's transform and its ancestors', below the root ``<svg>``; read without touching the
    attributes (inkex's ``composed_transform`` rewrites the ancestors' ``transform`` text)."""
    transform = inkex.Transform()
    node = element
    while node is not None and node.getparent() is not None:
        text = etree.ElementBase.get(node, "transform")
        if text:
            transform = inkex.Transform(text) @ transform
        node = node.getparent()
    return transform


def photo_to_document(image: inkex.Image, photo_size: tuple[float, float]) -> inkex.Transform:
    """Photo pixels → the document's root user units (where new layers live) for ``image``."""
    box = image_box(image, photo_size)
    return composed_transform(image) @ photo_to_box(photo_size, box, image.get("preserveAspectRatio"))


def photo_scale(image: inkex.Image, photo_size: tuple[float, float]) -> float:
    """Document user units per photo pixel for ``image`` (the geometric mean of the two axes' scales)."""
    (a, c, _), (b, d, _) = photo_to_document(image, photo_size).matrix
    return abs(a * d - b * c) ** 0.5


def place_path(d: str, transform: inkex.Transform) -> str:
    """Path data in photo pixels mapped through ``transform`` (exact for Béziers: affine maps commute with
    their control points)."""
    return str(inkex.Path(d).transform(transform))
