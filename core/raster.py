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

from clipsketch.core.strokes import Strokes, bernstein, check_stroke_shapes, check_stroke_values, width_profile

DEFAULT_SEGMENT_LENGTH = 4.0
"""Longest flattening segment in pixels: the chord of a curve of radius r px deviates by at most 2 / r px."""

MAX_SEGMENTS_PER_STROKE = 512
_PIXEL_REACH = 0.5 * (1 + 0.05) * 2**0.5  # farthest a unit pixel's area extends across any line through its centre


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
    """Rasterize :class:`Strokes` onto their square canvas (``canvas_size`` pixels a side). Their shapes were
    checked when they were made; their values are not read here (no device sync in the optimisation's step)."""
    size = (strokes.canvas_size, strokes.canvas_size)
    return _rasterize(strokes.points, strokes.widths, strokes.colors, size, background, segment_length,
                      strokes.taper)


def rasterize(
    points: torch.Tensor,
    widths: torch.Tensor,
    colors: torch.Tensor,
    size: tuple[int, int],
    background: tuple[float, float, float] = (1.0, 1.0, 1.0),
    segment_length: float = DEFAULT_SEGMENT_LENGTH,
    taper: float = 0.0,
) -> Raster:
    """Rasterize cubic Bézier strokes.

    Args:
        points: ``[B, N, 4, 2]`` control points, ``(x, y)`` in pixels; pixel ``(i, j)`` spans ``[j, j+1) × [i, i+1)``.
        widths: ``[B, N]`` full stroke widths in pixels (``>= 0``).
        colors: ``[B, N, 4]`` straight RGBA in 0..1.
        size: ``(height, width)`` of the image in pixels.
        background: opaque RGB in 0..1 under the strokes (white by default).
        segment_length: longest flattening segment in pixels (smaller is more exact and slower).
        taper: the fraction of each end that thins to a point (0: uniform;
            :func:`~clipsketch.core.strokes.width_profile`).

    Returns:
        :class:`Raster` with ``rgb [B, 3, H, W]`` and ``alpha [B, 1, H, W]``.

    Raises:
        ValueError: malformed shapes, NaN/inf values, negative widths, colors outside 0..1, or an empty size.
    """
    check_stroke_shapes(points, widths, colors)
    check_stroke_values(points, widths, colors)
    if not 0 <= taper <= 0.5:
        raise ValueError(f"taper must be within 0..0.5 of a stroke, got {taper}")
    return _rasterize(points, widths, colors, size, background, segment_length, taper)


def _rasterize(points: torch.Tensor, widths: torch.Tensor, colors: torch.Tensor, size: tuple[int, int],
               background: tuple[float, float, float], segment_length: float, taper: float = 0.0) -> Raster:
    """:func:`rasterize` without its checks of the strokes."""
    height, width = (int(size[0]), int(size[1]))
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {height}x{width}")
    if not segment_length > 0:
        raise ValueError(f"segment_length must be > 0 pixels, got {segment_length}")
    batch, count = points.shape[:2]
    dtype, device = points.dtype, points.device
    bg = torch.tensor(background, dtype=dtype, device=device)

    with torch.no_grad():
        pairs = _covered_pairs(points.detach(), widths.detach(), (height, width), segment_length)
    if pairs is None:
        # Nothing is drawn. Multiplying by zero keeps the graph connected, so callers get zero gradients, not None.
        touch = (points.sum() + widths.sum() + colors.sum()) * 0
        rgb = bg.view(1, 3, 1, 1).expand(batch, 3, height, width) + touch
        return Raster(rgb, torch.zeros(batch, 1, height, width, dtype=dtype, device=device) + touch)

    flat_points = points.reshape(batch * count, 4, 2)
    flat_widths = widths.reshape(batch * count)
    flat_colors = colors.reshape(batch * count, 4)

    seg_start, seg_end = _segment_endpoints(flat_points, pairs.segments)
    start, end = seg_start.index_select(0, pairs.segment), seg_end.index_select(0, pairs.segment)
    offset, along = _offset_from_segment(pairs.pixel_center, start, end)
    distance = torch.sqrt((offset * offset).sum(-1) + 1e-12)
    pair_widths = flat_widths.index_select(0, pairs.stroke)
    if taper > 0:  # the width where the pixel's nearest point lies along the stroke (a fraction of its length)
        pair_widths = pair_widths * width_profile(_length_fraction(seg_start, seg_end, pairs, along), taper)
    coverage = band_coverage(distance, pair_widths, _edge_normal(offset, end - start))
    color = flat_colors.index_select(0, pairs.stroke)  # [U, 4]
    alpha = coverage * color[:, 3]

    # Ordered source-over per pixel, on a [depth, pixels touched] grid: layer k lies under layers k+1.. .
    groups, depth = pairs.num_pixels, pairs.max_depth
    slot = pairs.rank * groups + pairs.group
    clear = (1 - torch.zeros(depth * groups, dtype=dtype, device=device).index_put((slot,), alpha)).view(depth, groups)
    behind = [torch.ones(groups, dtype=dtype, device=device)]  # behind[k]: transmittance of layers above k
    for layer in range(depth - 1, 0, -1):
        behind.append(behind[-1] * clear[layer])
    behind.reverse()
    transmittance = behind[0] * clear[0]
    weight = alpha * torch.stack(behind).view(-1).index_select(0, slot)
    ink = torch.zeros(groups, 3, dtype=dtype, device=device).index_add(0, pairs.group, weight.unsqueeze(1) * color[:, :3])
    composite = ink + transmittance.unsqueeze(1) * bg  # [G, 3]

    # Touched pixels are distinct, so plain writes into the background place them; channel c of pixel
    # (b, p) lives at (b * 3 + c) * H * W + p in the [B, 3, H, W] image.
    area = height * width
    first_channel = pairs.pixel + (pairs.pixel // area) * (2 * area)
    channels = torch.cat([first_channel, first_channel + area, first_channel + 2 * area])
    rgb = bg.view(1, 3, 1).expand(batch, 3, area).reshape(-1).index_put((channels,), composite.t().reshape(-1))
    alpha_image = torch.zeros(batch * area, dtype=dtype, device=device).index_put((pairs.pixel,), 1 - transmittance)
    return Raster(rgb.view(batch, 3, height, width), alpha_image.view(batch, 1, height, width))


def band_coverage(distance: torch.Tensor, width: torch.Tensor, normal: torch.Tensor) -> torch.Tensor:
    """Fraction 0..1 of a unit pixel covered by a straight band of full ``width`` (pixels) whose centre line
    passes ``distance`` pixels from the pixel centre, ``normal [..., 2]`` pointing across the band (any length).

    This is exact area coverage: projected onto the normal, the pixel's area is spread as the sum of two uniform
    variables of widths ``|cos θ|`` and ``|sin θ|`` (a trapezoid), and the coverage is that spread's mass inside
    ``[-w/2, w/2]``. Axis-aligned edges get the familiar linear ramp, diagonal ones a smooth one."""
    boxes = (normal.abs() * torch.rsqrt((normal * normal).sum(-1, keepdim=True) + 1e-24)).clamp_min(_MIN_BOX)
    wide, narrow = boxes.amax(-1), boxes.amin(-1)
    half = width / 2
    cdf = _box_sum_cdf(torch.stack([half - distance, -half - distance]), wide, narrow)
    return (cdf[0] - cdf[1]).clamp(0, 1)


_MIN_BOX = 1e-4  # narrowest box of the trapezoid profile, in pixels (keeps the quadratic pieces finite)


def _box_sum_cdf(s: torch.Tensor, wide: torch.Tensor, narrow: torch.Tensor) -> torch.Tensor:
    """CDF at ``s`` of the sum of two centred uniform variables of widths ``wide >= narrow > 0`` (pixels).

    Quadratic on the trapezoid's slopes, linear ``s / wide + 1/2`` on its plateau; written per piece so that a
    narrow box (a nearly axis-aligned edge) stays well conditioned."""
    outer, inner = (wide + narrow) / 2, (wide - narrow) / 2
    u = torch.clamp(s, -outer, outer)
    inv_area = 0.5 / (wide * narrow)
    rising = (u + outer).square() * inv_area
    falling = 1 - (outer - u).square() * inv_area
    plateau = u / wide + 0.5
    return torch.where(u < -inner, rising, torch.where(u > inner, falling, plateau))


def _edge_normal(offset: torch.Tensor, along: torch.Tensor) -> torch.Tensor:
    """Direction ``[..., 2]`` across the stroke's edge at a pixel: from the nearest point of the centre line to
    the pixel (radial around caps and joins, so segments meeting at a joint agree), nudged towards the segment's
    own normal so that it stays defined when the pixel centre lies on the centre line."""
    normal = torch.stack([-along[..., 1], along[..., 0]], dim=-1)
    normal = normal / normal.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    side = torch.where((offset * normal).sum(-1, keepdim=True) >= 0, 1e-2, -1e-2)
    return offset + side * normal


class _Segments(NamedTuple):
    """The flattening: ``S`` segments, each the chord of a piece ``[t0, t1]`` of one stroke's curve."""

    stroke: torch.Tensor  # [S] flat stroke index b * N + n
    first: torch.Tensor  # [S] index of the stroke's first segment
    basis: torch.Tensor  # [S, 2, 4] Bernstein weights of the control points at t0 and t1
    last: torch.Tensor  # [S] bool: the stroke's final segment


class _Pairs(NamedTuple):
    """The ``(pixel, stroke)`` pairs that carry ink, found without gradients (U pairs, G pixels touched)."""

    segments: _Segments
    segment: torch.Tensor  # [U] nearest segment of the pair's stroke
    stroke: torch.Tensor  # [U] flat stroke index b * N + n
    pixel: torch.Tensor  # [G] flat index (b * H + y) * W + x of each touched pixel
    pixel_center: torch.Tensor  # [U, 2] (x, y) of the pixel centre
    group: torch.Tensor  # [U] index of the pair's pixel among the G touched pixels
    rank: torch.Tensor  # [U] drawing order of the stroke within its pixel
    num_pixels: int  # G
    max_depth: int  # most strokes touching one pixel


def _segment_plan(points: torch.Tensor, segment_length: float) -> _Segments:
    """Flatten ``points [M, 4, 2]`` into segments of about ``segment_length`` px (at most that, up to sampling).

    Segments are uniform in ``t``; a stroke gets ``ceil(max speed / segment_length)`` of them, its speed
    ``|B'(t)|`` sampled at 17 values of ``t``. The count changes only in jumps, so finite differences see a fixed
    flattening."""
    t = torch.linspace(0, 1, 17, dtype=points.dtype, device=points.device).unsqueeze(1)
    s = 1 - t
    speed_basis = torch.cat([s * s, 2 * s * t, t * t], dim=1) * 3  # [17, 3]: B'(t) is a quadratic Bézier of the legs
    velocity = torch.einsum("tk,mkd->mtd", speed_basis, points[:, 1:] - points[:, :-1])
    max_speed = velocity.norm(dim=-1).amax(dim=1)
    per_stroke = torch.ceil(max_speed / segment_length).clamp(1, MAX_SEGMENTS_PER_STROKE).long()
    stroke = torch.repeat_interleave(torch.arange(points.shape[0], device=points.device), per_stroke)
    first = torch.cumsum(per_stroke, 0) - per_stroke
    local = torch.arange(stroke.shape[0], device=points.device) - first.index_select(0, stroke)
    total = per_stroke.index_select(0, stroke)
    ends = torch.stack([local / total, (local + 1) / total], dim=1).to(points.dtype)  # [S, 2]: t0, t1
    return _Segments(stroke, first.index_select(0, stroke), bernstein(ends), local == total - 1)


def _segment_endpoints(points: torch.Tensor, segments: _Segments) -> tuple[torch.Tensor, torch.Tensor]:
    """Start and end ``[S, 2]`` (pixels) of each flattening segment of ``points [M, 4, 2]``."""
    ends = torch.bmm(segments.basis, points.index_select(0, segments.stroke))  # [S, 2, 2]
    return ends[:, 0], ends[:, 1]


def _length_fraction(start: torch.Tensor, end: torch.Tensor, pairs: _Pairs, along: torch.Tensor) -> torch.Tensor:
    """How far along its stroke ``[U]`` (0..1 of the flattened stroke's length) each pair's nearest point lies:
    the lengths of the stroke's segments before it plus ``along`` its own, over the stroke's length."""
    segments = pairs.segments
    length = (end - start).norm(dim=-1)  # [S]
    before = torch.cumsum(length, 0) - length  # over all segments, which are grouped by stroke in order
    before = before - before.index_select(0, segments.first)
    total = torch.zeros(int(segments.stroke.max()) + 1, dtype=length.dtype, device=length.device).index_add(
        0, segments.stroke, length)
    index = pairs.segment
    reached = before.index_select(0, index) + along * length.index_select(0, index)
    return reached / total.index_select(0, pairs.stroke).clamp_min(1e-9)


def _offset_from_segment(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Vector ``[..., 2]`` from the nearest point of segments ``a→b`` to points ``p`` (all ``[..., 2]``, pixels),
    and where that point lies along the segment ``[...]`` (0 at ``a``, 1 at ``b``); a zero-length segment
    measures from its point."""
    ab = b - a
    ap = p - a
    along = ((ap * ab).sum(-1) / ((ab * ab).sum(-1) + 1e-12)).clamp(0, 1)
    return ap - along.unsqueeze(-1) * ab, along


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
    segments = _segment_plan(flat_points, segment_length)
    start, end = _segment_endpoints(flat_points, segments)
    reach = (widths.reshape(-1) / 2 + _PIXEL_REACH).index_select(0, segments.stroke)  # no coverage beyond

    # A square patch of P × P candidate pixels per segment, large enough for the longest segment's reach.
    low = torch.floor(torch.minimum(start, end) - reach.unsqueeze(1))  # [S, 2] (x, y) of the patch corner
    patch = int((torch.floor(torch.maximum(start, end) + reach.unsqueeze(1)) - low).max()) + 1
    steps = torch.arange(patch, dtype=points.dtype, device=device)
    in_x = (low[:, :1] + steps >= 0) & (low[:, :1] + steps < width)  # [S, P]
    in_y = (low[:, 1:] + steps >= 0) & (low[:, 1:] + steps < height)
    along = end - start
    inv_length2 = 1 / ((along * along).sum(1, keepdim=True) + 1e-12)
    ap_x = (low[:, :1] + 0.5 - start[:, :1]).unsqueeze(1) + steps.view(1, 1, patch)  # [S, 1, P]: centre - start
    ap_y = (low[:, 1:] + 0.5 - start[:, 1:]).unsqueeze(2) + steps.view(1, patch, 1)  # [S, P, 1]
    t = (ap_x * along[:, :1, None]) + (ap_y * along[:, 1:, None])  # [S, P, P] (row y, column x)
    t.mul_(inv_length2.unsqueeze(2))
    # A pixel beyond a segment's end is at least as near to the next segment, which starts there: leave it to it.
    wanted = (in_y.unsqueeze(2) & in_x.unsqueeze(1)) & ((t < 1) | segments.last.view(-1, 1, 1))
    t.clamp_(0, 1)
    off_x = ap_x - t * along[:, :1, None]
    off_y = ap_y - t * along[:, 1:, None]
    dist2 = off_x.mul_(off_x).addcmul_(off_y, off_y)
    wanted &= dist2 < (reach * reach).view(-1, 1, 1)
    seg_index, row, column = wanted.nonzero(as_tuple=True)
    if seg_index.numel() == 0:
        return None
    dist2 = dist2.view(-1).index_select(0, (seg_index * patch + row) * patch + column)
    corner = low.long()
    x = corner[:, 0].index_select(0, seg_index) + column
    y = corner[:, 1].index_select(0, seg_index) + row
    seg_batch, seg_order = segments.stroke // count, segments.stroke % count
    pixel = (seg_batch.index_select(0, seg_index) * height + y) * width + x
    key = pixel * count + seg_order.index_select(0, seg_index)  # sorts by pixel, then by drawing order

    # Keep the nearest segment for each (pixel, stroke): sort by key, then by distance (the bits of a
    # non-negative float32 sort like the float), and take the first of each run of equal keys.
    dist_bits = dist2.float().view(torch.int32).long()
    if int(key.max()) < 2**31:
        order = torch.argsort((key << 32) | dist_bits, stable=True)  # ties: the earlier segment
    else:  # too many pixels × strokes to pack both into int64: two stable sorts
        by_distance = torch.argsort(dist_bits, stable=True)
        order = by_distance.index_select(0, torch.argsort(key.index_select(0, by_distance), stable=True))
    unique_key, runs = torch.unique_consecutive(key.index_select(0, order), return_counts=True)
    chosen = order.index_select(0, torch.cumsum(runs, 0) - runs)
    pairs = unique_key.shape[0]

    pixel, group, depth = torch.unique_consecutive(unique_key // count, return_inverse=True, return_counts=True)
    rank = torch.arange(pairs, device=device) - (torch.cumsum(depth, 0) - depth).index_select(0, group)
    center = torch.stack([x.index_select(0, chosen), y.index_select(0, chosen)], dim=1).to(points.dtype) + 0.5
    segment = seg_index.index_select(0, chosen)
    return _Pairs(
        segments=segments,
        segment=segment,
        stroke=segments.stroke.index_select(0, segment),
        pixel=pixel,
        pixel_center=center,
        group=group,
        rank=rank,
        num_pixels=int(depth.shape[0]),
        max_depth=int(depth.max()),
    )
