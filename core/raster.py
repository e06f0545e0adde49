"""Differentiable rasterizer: cubic Bézier strokes to an antialiased image, in pure PyTorch.

What it draws is what an SVG renderer draws from the exported ``<path d="M … C …" fill="none"
stroke-linecap="round" stroke-linejoin="round">``: each stroke is the set of points within half its width of the
curve, antialiased by the exact box-filter coverage across the stroke's edge, and strokes are composited in order
with source-over onto the background.

How it stays fast (cost grows with the pixels strokes touch, not with ``N × H × W``):

1. Each curve is flattened into segments of at most ``segment_length`` pixels (uniform in ``t``; the count per
   stroke comes from a bound on the curve's speed, so it does not change under small moves of the points).
2. Every segment gets a small square patch of candidate pixels around it. Without gradients, the distance of each
   candidate pixel to its segment is measured, pixels the stroke does not reach are dropped, and for each
   ``(pixel, stroke)`` only the nearest segment is kept: a stroke's coverage is the union of its segments.
3. With gradients, only those kept ``(pixel, stroke)`` pairs are evaluated: distance, coverage, and the ordered
   source-over composite per pixel (a short dense ``[pixels touched, max overlap]`` array).

Gradients flow to control points, widths and colors by autograd. Images are ``[B, C, H, W]`` in 0..1.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from clipsketch.core.strokes import Strokes, check_strokes

DEFAULT_SEGMENT_LENGTH = 4.0
"""Longest flattening segment in pixels: the chord of a curve of radius r px deviates by at most 2 / r px."""

MAX_SEGMENTS_PER_STROKE = 512


class Raster(NamedTuple):
    """A rasterized batch: ``rgb [B, 3, H, W]`` composited over the background and ``alpha [B, 1, H, W]``
    (the strokes' combined coverage), both in 0..1."""

    rgb: torch.Tensor
    alpha: torch.Tensor


def rasterize_strokes(
    strokes: Strokes,
    background: tuple[float, float, float] = (1.0, 1.0, 1.0),
    segment_length: float = DEFAULT_SEGMENT_LENGTH,
) -> Raster:
    """Rasterize :class:`Strokes` onto their square canvas (``canvas_size`` pixels a side)."""
    return rasterize(
        strokes.points, strokes.widths, strokes.colors, (strokes.canvas_size, strokes.canvas_size),
        background, segment_length,
    )


def rasterize(
    points: torch.Tensor,
    widths: torch.Tensor,
    colors: torch.Tensor,
    size: tuple[int, int],
    background: tuple[float, float, float] = (1.0, 1.0, 1.0),
    segment_length: float = DEFAULT_SEGMENT_LENGTH,
) -> Raster:
    """Rasterize cubic Bézier strokes.

    Args:
        points: ``[B, N, 4, 2]`` control points, ``(x, y)`` in pixels; pixel ``(i, j)`` spans ``[j, j+1) × [i, i+1)``.
        widths: ``[B, N]`` full stroke widths in pixels (``>= 0``).
        colors: ``[B, N, 4]`` straight RGBA in 0..1.
        size: ``(height, width)`` of the image in pixels.
        background: opaque RGB in 0..1 under the strokes (white by default).
        segment_length: longest flattening segment in pixels (smaller is more exact and slower).

    Returns:
        :class:`Raster` with ``rgb [B, 3, H, W]`` and ``alpha [B, 1, H, W]``.

    Raises:
        ValueError: malformed shapes, NaN/inf values, negative widths, colors outside 0..1, or an empty size.
    """
    check_strokes(points, widths, colors)
    height, width = (int(size[0]), int(size[1]))
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    if not segment_length > 0:
        raise ValueError(f"segment_length must be > 0 pixels, got {segment_length}")
    batch, count = points.shape[:2]
    dtype, device = points.dtype, points.device
    bg = torch.tensor(background, dtype=dtype, device=device)

    pairs = _covered_pairs(points.detach(), widths.detach(), (height, width), segment_length)
    if pairs is None:
        # Nothing is drawn. Multiplying by zero keeps the graph connected, so callers get zero gradients, not None.
        touch = (points.sum() + widths.sum() + colors.sum()) * 0
        rgb = bg.view(1, 3, 1, 1).expand(batch, 3, height, width) + touch
        return Raster(rgb, torch.zeros(batch, 1, height, width, dtype=dtype, device=device) + touch)

    flat_points = points.reshape(batch * count, 4, 2)
    flat_widths = widths.reshape(batch * count)
    flat_colors = colors.reshape(batch * count, 4)

    seg_start, seg_end = _segment_endpoints(flat_points, pairs.seg_stroke, pairs.seg_t0, pairs.seg_t1)
    distance = _point_segment_distance(pairs.pixel_center, seg_start[pairs.segment], seg_end[pairs.segment])
    coverage = edge_coverage(distance, flat_widths[pairs.stroke])
    alpha = coverage * flat_colors[pairs.stroke, 3]

    # Ordered source-over per pixel: pair u is covered by the pairs after it in the same pixel.
    groups, depth = pairs.num_pixels, pairs.max_depth
    slot = pairs.group * depth + pairs.rank
    padded = torch.zeros(groups * depth, dtype=dtype, device=device).index_put((slot,), alpha).view(groups, depth)
    kept_from = torch.flip(torch.cumprod(torch.flip(1 - padded, dims=[1]), dim=1), dims=[1])  # prod over j >= i
    transmittance = kept_from[:, 0]
    behind = torch.cat([kept_from[:, 1:], torch.ones(groups, 1, dtype=dtype, device=device)], dim=1)
    weight = alpha * behind.reshape(-1)[slot]
    ink = torch.zeros(groups, 3, dtype=dtype, device=device).index_add(
        0, pairs.group, weight.unsqueeze(1) * flat_colors[pairs.stroke, :3]
    )
    delta = ink - (1 - transmittance).unsqueeze(1) * bg  # composite minus background

    pixels = batch * height * width
    rgb = bg + torch.zeros(pixels, 3, dtype=dtype, device=device).index_add(0, pairs.pixel, delta)
    alpha_image = torch.zeros(pixels, dtype=dtype, device=device).index_add(0, pairs.pixel, 1 - transmittance)
    rgb = rgb.view(batch, height, width, 3).permute(0, 3, 1, 2)
    return Raster(rgb, alpha_image.view(batch, 1, height, width))


def edge_coverage(distance: torch.Tensor, width: torch.Tensor) -> torch.Tensor:
    """Fraction 0..1 of a unit pixel covered by a stroke of full ``width`` whose centre line lies ``distance``
    pixels from the pixel centre: the overlap of ``[d - ½, d + ½]`` with ``[-w/2, w/2]`` (exact across a straight
    edge aligned with the pixel grid; thin strokes get proportionally less)."""
    half = width / 2
    return (torch.minimum(distance + 0.5, half) - torch.maximum(distance - 0.5, -half)).clamp(0, 1)


def bezier_points(control: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Points ``[..., 2]`` of cubic Béziers ``control [..., 4, 2]`` at parameters ``t [...]`` in 0..1."""
    s = 1 - t
    basis = torch.stack([s * s * s, 3 * s * s * t, 3 * s * t * t, t * t * t], dim=-1)
    return (basis.unsqueeze(-1) * control).sum(dim=-2)


class _Pairs(NamedTuple):
    """The ``(pixel, stroke)`` pairs that carry ink, found without gradients (U pairs, S segments, G pixels)."""

    seg_stroke: torch.Tensor  # [S] flat stroke index of each segment
    seg_t0: torch.Tensor  # [S] curve parameter where each segment starts
    seg_t1: torch.Tensor  # [S] and ends
    segment: torch.Tensor  # [U] nearest segment of the pair's stroke
    stroke: torch.Tensor  # [U] flat stroke index b * N + n
    pixel: torch.Tensor  # [G] flat index (b * H + y) * W + x of each touched pixel
    pixel_center: torch.Tensor  # [U, 2] (x, y) of the pixel centre
    group: torch.Tensor  # [U] index of the pair's pixel among the G touched pixels
    rank: torch.Tensor  # [U] drawing order of the stroke within its pixel
    num_pixels: int  # G
    max_depth: int  # most strokes touching one pixel


def _segment_plan(points: torch.Tensor, segment_length: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Flatten ``points [M, 4, 2]`` into segments about ``segment_length`` px long; returns stroke, t0, t1 ``[S]``.

    Segments are uniform in ``t``; a stroke gets ``ceil(max speed / segment_length)`` of them, its speed
    ``|B'(t)|`` sampled at 17 values of ``t``. The count changes only in jumps, so finite differences see a fixed
    flattening."""
    t = torch.linspace(0, 1, 17, dtype=points.dtype, device=points.device).unsqueeze(1)
    legs = points[:, 1:] - points[:, :-1]  # [M, 3, 2]; B'(t) is the quadratic Bézier of 3 * legs
    s = 1 - t
    speed_basis = torch.cat([s * s, 2 * s * t, t * t], dim=1) * 3  # [17, 3]
    velocity = torch.einsum("tk,mkd->mtd", speed_basis, legs)
    max_speed = velocity.norm(dim=-1).amax(dim=1)
    per_stroke = torch.ceil(max_speed / segment_length).clamp(1, MAX_SEGMENTS_PER_STROKE).long()
    stroke = torch.repeat_interleave(torch.arange(points.shape[0], device=points.device), per_stroke)
    first = torch.cumsum(per_stroke, 0) - per_stroke
    local = torch.arange(stroke.shape[0], device=points.device) - first[stroke]
    total = per_stroke[stroke].to(points.dtype)
    return stroke, local / total, (local + 1) / total


def _segment_endpoints(
    points: torch.Tensor, stroke: torch.Tensor, t0: torch.Tensor, t1: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Start and end ``[S, 2]`` (pixels) of each flattening segment of ``points [M, 4, 2]``."""
    control = points[stroke]
    return bezier_points(control, t0), bezier_points(control, t1)


def _point_segment_distance(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distance ``[...]`` from points ``p [..., 2]`` to segments ``a→b [..., 2]``; zero-length segments
    measure to their point, and the distance has finite gradients everywhere (including on the segment)."""
    ab = b - a
    ap = p - a
    along = ((ap * ab).sum(-1) / ((ab * ab).sum(-1) + 1e-12)).clamp(0, 1)
    offset = ap - along.unsqueeze(-1) * ab
    return torch.sqrt((offset * offset).sum(-1) + 1e-12)


def _covered_pairs(
    points: torch.Tensor, widths: torch.Tensor, size: tuple[int, int], segment_length: float
) -> _Pairs | None:
    """Find, without gradients, every ``(pixel, stroke)`` pair with non-zero coverage and its nearest segment.

    ``points [B, N, 4, 2]`` and ``widths [B, N]`` in pixels; ``None`` when nothing is drawn."""
    batch, count = points.shape[:2]
    height, width = size
    device = points.device
    if batch * count == 0:
        return None
    flat_points = points.reshape(-1, 4, 2)
    reach = widths.reshape(-1) / 2 + 0.5  # coverage is zero at or beyond this distance from the centre line
    seg_stroke, seg_t0, seg_t1 = _segment_plan(flat_points, segment_length)
    start, end = _segment_endpoints(flat_points, seg_stroke, seg_t0, seg_t1)
    seg_reach = reach[seg_stroke]

    # A square patch of candidate pixels per segment, large enough for the longest segment's reach.
    low = torch.floor(torch.minimum(start, end) - seg_reach.unsqueeze(1))  # [S, 2] (x, y) of the patch corner
    high = torch.floor(torch.maximum(start, end) + seg_reach.unsqueeze(1))
    patch = int((high - low).max()) + 1
    steps = torch.arange(patch, dtype=points.dtype, device=device)
    cell_x, cell_y = steps.repeat(patch), steps.repeat_interleave(patch)  # [P*P]
    along = end - start
    inv_length2 = 1 / ((along * along).sum(1, keepdim=True) + 1e-12)
    ap_x = (low[:, :1] + 0.5 - start[:, :1]) + cell_x  # [S, P*P] pixel centre minus segment start
    ap_y = (low[:, 1:] + 0.5 - start[:, 1:]) + cell_y
    t = (ap_x * along[:, :1]).addcmul_(ap_y, along[:, 1:]).mul_(inv_length2).clamp_(0, 1)
    ap_x.addcmul_(t, along[:, :1], value=-1)
    ap_y.addcmul_(t, along[:, 1:], value=-1)
    dist2 = (ap_x.mul_(ap_x)).addcmul_(ap_y, ap_y)
    seg_index, cell = (dist2 < (seg_reach * seg_reach).unsqueeze(1)).nonzero(as_tuple=True)
    x = (low[seg_index, 0] + cell_x[cell]).long()
    y = (low[seg_index, 1] + cell_y[cell]).long()
    inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    seg_index, cell, x, y = seg_index[inside], cell[inside], x[inside], y[inside]
    if seg_index.numel() == 0:
        return None
    dist = dist2[seg_index, cell]  # squared distances order pairs just as distances do
    stroke = seg_stroke[seg_index]
    pixel = ((stroke // count) * height + y) * width + x
    key = pixel * count + stroke % count  # sorts by pixel, then by drawing order

    # Keep the nearest segment for each (pixel, stroke); ties go to the first candidate.
    unique_key, inverse = torch.unique(key, return_inverse=True)
    pairs = unique_key.shape[0]
    nearest = torch.full((pairs,), float("inf"), dtype=dist.dtype, device=device)
    nearest = nearest.scatter_reduce(0, inverse, dist, "amin")
    candidate = torch.arange(key.shape[0], device=device)
    candidate = torch.where(dist == nearest[inverse], candidate, key.shape[0])
    chosen = torch.full((pairs,), key.shape[0], dtype=torch.long, device=device)
    chosen = chosen.scatter_reduce(0, inverse, candidate, "amin")

    pair_pixel = unique_key // count
    pixel, group, depth = torch.unique_consecutive(pair_pixel, return_inverse=True, return_counts=True)
    rank = torch.arange(pairs, device=device) - (torch.cumsum(depth, 0) - depth)[group]
    return _Pairs(
        seg_stroke=seg_stroke,
        seg_t0=seg_t0,
        seg_t1=seg_t1,
        segment=seg_index[chosen],
        stroke=stroke[chosen],
        pixel=pixel,
        pixel_center=torch.stack([x[chosen], y[chosen]], dim=1).to(points.dtype) + 0.5,
        group=group,
        rank=rank,
        num_pixels=int(depth.shape[0]),
        max_depth=int(depth.max()),
    )
