"""The stroke model: a batch of sketches, each N open cubic Bézier strokes on a square canvas.

Shapes and units (canvas pixels, origin at the top-left corner, y down):

- ``points``  ``[B, N, 4, 2]`` control points ``P0..P3`` as ``(x, y)`` in canvas pixels;
- ``widths``  ``[B, N]`` full stroke width in canvas pixels;
- ``colors``  ``[B, N, 4]`` straight (not premultiplied) RGBA in 0..1;
- ``taper``   the fraction of each stroke's length over which its ends thin to a point (0: uniform lines): the
  width at the point a fraction ``s`` of its arc length along is ``widths × width_profile(s, taper)``.

Stroke ``n`` is drawn after stroke ``n - 1`` (later strokes lie on top). Building :class:`Strokes` checks shapes
only (cheap, no device sync: it happens every step); values are checked by :func:`check_stroke_values` where data
enters (an SVG read, the raw :func:`~clipsketch.core.raster.rasterize`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch

from clipsketch.core.options import DEFAULT_CANVAS_SIZE, default_width


@dataclass(frozen=True)
class Strokes:
    """A batch of ``B`` sketches of ``N`` cubic Bézier strokes each (see the module docstring for units)."""

    points: torch.Tensor
    widths: torch.Tensor
    colors: torch.Tensor
    canvas_size: int = DEFAULT_CANVAS_SIZE
    taper: float = 0.0

    def __post_init__(self) -> None:
        check_stroke_shapes(self.points, self.widths, self.colors)
        if int(self.canvas_size) <= 0:
            raise ValueError(f"canvas_size must be a positive number of pixels, got {self.canvas_size}")
        if not 0 <= self.taper <= 0.5:
            raise ValueError(f"taper must be within 0..0.5 of a stroke, got {self.taper}")

    @classmethod
    def from_points(
        cls,
        points: torch.Tensor,
        width: float | None = None,
        color: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0),
        canvas_size: int = DEFAULT_CANVAS_SIZE,
    ) -> Strokes:
        """Strokes of one width (pixels; default :func:`default_width`) and one RGBA color for ``points [B, N, 4, 2]``."""
        if points.dim() != 4 or points.shape[-2:] != (4, 2):
            raise ValueError(f"points must have shape [B, N, 4, 2], got {list(points.shape)}")
        batch, count = points.shape[:2]
        width = default_width(canvas_size) if width is None else float(width)
        widths = torch.full((batch, count), width, dtype=points.dtype, device=points.device)
        colors = torch.tensor(color, dtype=points.dtype, device=points.device).expand(batch, count, 4).clone()
        return cls(points, widths, colors, canvas_size)

    @property
    def batch_size(self) -> int:
        return self.points.shape[0]

    @property
    def num_strokes(self) -> int:
        return self.points.shape[1]

    def requires_grad_(self, points: bool = True, widths: bool = False, colors: bool = False) -> Strokes:
        """Detached copies of the tensors with the chosen ones requiring gradients (points by default)."""
        return replace(
            self,
            points=self.points.detach().clone().requires_grad_(points),
            widths=self.widths.detach().clone().requires_grad_(widths),
            colors=self.colors.detach().clone().requires_grad_(colors),
        )

    def to(self, device: torch.device | str) -> Strokes:
        return replace(self, points=self.points.to(device), widths=self.widths.to(device), colors=self.colors.to(device))

    def repeat(self, batch: int) -> Strokes:
        """A batch of one repeated ``batch`` times (copies)."""
        return replace(self, points=self.points.repeat(batch, 1, 1, 1), widths=self.widths.repeat(batch, 1),
                       colors=self.colors.repeat(batch, 1, 1))

    def concat(self, other: Strokes) -> Strokes:
        """Each sketch's strokes followed by ``other``'s (same batch size and canvas): drawn under them."""
        return replace(self, points=torch.cat([self.points, other.points.to(self.points)], dim=1),
                       widths=torch.cat([self.widths, other.widths.to(self.widths)], dim=1),
                       colors=torch.cat([self.colors, other.colors.to(self.colors)], dim=1))

    def select(self, index: int) -> Strokes:
        """The sketch at batch position ``index`` as a batch of one."""
        return replace(
            self,
            points=self.points[index : index + 1],
            widths=self.widths[index : index + 1],
            colors=self.colors[index : index + 1],
        )


def bernstein(t: torch.Tensor) -> torch.Tensor:
    """Cubic Bernstein weights ``[..., 4]`` at parameters ``t [...]`` in 0..1: a stroke's points there are these
    weights times its control points."""
    s = 1 - t
    return torch.stack([s * s * s, 3 * s * s * t, 3 * s * t * t, t * t * t], dim=-1)


def width_profile(s: torch.Tensor, taper: float) -> torch.Tensor:
    """A stroke's width at arc-length fractions ``s [...]`` (0..1 along it) as a fraction of its full width: 1
    throughout when ``taper`` is 0; otherwise it rises from 0 at each end to 1 over the first and last ``taper``
    of its length, as a quarter sine (a pen's stroke: quick to widen, then flat), close to what Inkscape's Taper
    Stroke path effect draws over the same lengths. By length, not by the curve's parameter: an optimised curve
    runs unevenly in its parameter, and would end blunt where it runs slowly."""
    if taper <= 0:
        return torch.ones_like(s)
    ramp = torch.minimum(s, 1 - s).clamp(0, taper) / taper
    return torch.sin(ramp * (math.pi / 2))


def check_stroke_shapes(points: torch.Tensor, widths: torch.Tensor, colors: torch.Tensor) -> None:
    """Raise ``ValueError`` naming the problem when the stroke tensors' shapes (``[B, N, 4, 2]``, ``[B, N]``,
    ``[B, N, 4]``), dtypes (floating) or devices (one) are wrong. Reads no values: no device sync."""
    if points.dim() != 4 or points.shape[-2:] != (4, 2):
        raise ValueError(f"points must have shape [B, N, 4, 2], got {list(points.shape)}")
    batch, count = points.shape[:2]
    if widths.shape != (batch, count):
        raise ValueError(f"widths must have shape [B, N] = {[batch, count]}, got {list(widths.shape)}")
    if colors.shape != (batch, count, 4):
        raise ValueError(f"colors must have shape [B, N, 4] = {[batch, count, 4]}, got {list(colors.shape)}")
    for name, tensor in (("points", points), ("widths", widths), ("colors", colors)):
        if not tensor.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor, got {tensor.dtype}")
        if tensor.device != points.device:
            raise ValueError(f"{name} is on {tensor.device} but points are on {points.device}")


def check_stroke_values(points: torch.Tensor, widths: torch.Tensor, colors: torch.Tensor) -> None:
    """Raise ``ValueError`` naming the problem unless every value is finite, widths ``>= 0`` and colors within
    0..1 (reads the values: a device sync on a GPU)."""
    for name, tensor in (("points", points), ("widths", widths), ("colors", colors)):
        if tensor.numel() and not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"{name} contain NaN or infinite values")
    if widths.numel() and bool((widths < 0).any()):
        raise ValueError(f"stroke widths must be >= 0 pixels, got minimum {float(widths.min()):g}")
    if colors.numel() and bool(((colors < 0) | (colors > 1)).any()):
        raise ValueError("stroke colors must be RGBA values within 0..1")


def chained_points(
    starts: torch.Tensor, step: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Control points ``[B, N, 4, 2]`` that start at ``starts [B, N, 2]`` (pixels), each next point a uniform random
    offset of at most ``step`` pixels per axis from the previous one (CLIPasso's stroke initialisation)."""
    offsets = (torch.rand(*starts.shape[:-1], 3, 2, generator=generator, dtype=starts.dtype) * 2 - 1) * step
    chain = torch.cumsum(offsets.to(starts.device), dim=-2)
    return torch.cat([starts.unsqueeze(-2), starts.unsqueeze(-2) + chain], dim=-2)


def random_points(
    batch: int,
    count: int,
    canvas_size: int = DEFAULT_CANVAS_SIZE,
    step: float | None = None,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Random control points ``[batch, count, 4, 2]`` in pixels.

    With ``step`` (pixels) strokes are short chains from uniform start points (see :func:`chained_points`);
    without it every control point is uniform over the canvas, so strokes span it.
    """
    if step is None:
        return torch.rand(batch, count, 4, 2, generator=generator, dtype=dtype) * canvas_size
    starts = torch.rand(batch, count, 2, generator=generator, dtype=dtype) * canvas_size
    return chained_points(starts, step, generator)
