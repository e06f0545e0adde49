"""Where a sketch goes: the affine map from the photo's pixels to the document's user units.

An ``<image>`` draws a ``photo_width × photo_height`` raster into its ``x, y, width, height`` box as
``preserveAspectRatio`` says (default ``xMidYMid meet``), and then through its composed transform (its own and its
ancestors'). A sketch whose coordinates are photo pixels lands exactly on the image when its points go through
the same two steps. Plain numbers in, a 2×3 affine ``(a, b, c, d, e, f)`` out (SVG's ``matrix`` order:
``x' = a x + c y + e``, ``y' = b x + d y + f``).
"""

from __future__ import annotations

Affine = tuple[float, float, float, float, float, float]
IDENTITY: Affine = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
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
                 preserve_aspect_ratio: str | None = None) -> Affine:
    """Affine from photo pixels to the image's user space for a ``box = (x, y, width, height)``."""
    photo_width, photo_height = photo_size
    x, y, width, height = box
    if photo_width <= 0 or photo_height <= 0 or width <= 0 or height <= 0:
        raise ValueError("the image and its box must have a positive size")
    mode, x_align, y_align = parse_preserve_aspect_ratio(preserve_aspect_ratio)
    scale_x, scale_y = width / photo_width, height / photo_height
    if mode == "none":
        return (scale_x, 0.0, 0.0, scale_y, x, y)
    scale = min(scale_x, scale_y) if mode == "meet" else max(scale_x, scale_y)
    return (scale, 0.0, 0.0, scale, x + (width - photo_width * scale) * x_align,
            y + (height - photo_height * scale) * y_align)


def compose(outer: Affine, inner: Affine) -> Affine:
    """``outer ∘ inner``: apply ``inner`` first."""
    a1, b1, c1, d1, e1, f1 = outer
    a2, b2, c2, d2, e2, f2 = inner
    return (a1 * a2 + c1 * b2, b1 * a2 + d1 * b2, a1 * c2 + c1 * d2, b1 * c2 + d1 * d2,
            a1 * e2 + c1 * f2 + e1, b1 * e2 + d1 * f2 + f1)


def apply(affine: Affine, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = affine
    return a * x + c * y + e, b * x + d * y + f


def transform_path_data(d: str, affine: Affine, decimals: int = 3) -> str:
    """Map the absolute ``M x y C x y x y x y`` path data the server sends through ``affine`` (exact for
    Béziers: affine maps commute with their control points)."""
    words = d.replace(",", " ").split()
    out, numbers = [], []
    for word in words + ["END"]:
        if word.isalpha() or word == "END":
            for k in range(0, len(numbers) - 1, 2):
                px, py = apply(affine, numbers[k], numbers[k + 1])
                out += [f"{px:.{decimals}f}", f"{py:.{decimals}f}"]
            numbers = []
            if word != "END":
                if word not in ("M", "C", "L"):
                    raise ValueError(f"unexpected path command {word!r}: expected absolute M, L and C")
                out.append(word)
        else:
            numbers.append(float(word))
    return " ".join(out)
