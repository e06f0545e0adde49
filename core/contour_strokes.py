"""Strokes that start as the photo's long defining contours: the outline before inner detail, no line twice.

The contour map (HED's edge probability, :mod:`~clipsketch.core.contours`, framed onto the canvas) is soft and a
few pixels wide; :func:`ridges` thins it to one-pixel ridges (non-maximum suppression across the line) that keep
their probability. A sketch's strokes are then placed one after the other (:func:`place_strokes`): the ridge
pixels are grouped into connected contours (8-neighbours), each weighted by its length × mean salience (ridge
strength × where the subject is); a contour is drawn with probability ∝ weight² (the seed's generator: different
seeds, different but sensible starts), a stretch of it up to a length that shrinks with the stroke count is
traced from a pixel of it, and a cubic Bézier is fitted along that stretch (least squares, chord-length
parameters). Ridges near the placed stroke are removed before the next one, so no two strokes start on the same
line, and those around it count less (:data:`SPREAD`), so later strokes go to the subject's other parts. When no
ridge is left, strokes fall back to short chains at salient pixels
(:func:`~clipsketch.core.saliency.sample_start_points`). What a sketch of few strokes is compared with is chosen
the same way (:func:`defining_contours`): the most defining contours, as many as its strokes can draw.

Shapes: maps ``[S, S]`` on the canvas (pixel ``(y, x)`` has its centre at ``(x + 0.5, y + 0.5)``), control
points ``[..., 4, 2]`` (x, y) in canvas pixels. Runs on the CPU with numpy (a few milliseconds a stroke).
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import torch
import torch.nn.functional as F
from kornia.filters import spatial_gradient

from clipsketch.core.saliency import CHAIN_STEP, gaussian_blur, sample_start_points
from clipsketch.core.strokes import bernstein, chained_points

RIDGE = 0.2
"""Edge probability a ridge pixel needs to count as a contour (HED's lines run 0.3–0.95)."""

STROKE_LENGTH = 0.9
"""A start stroke traces at most ``STROKE_LENGTH / sqrt(count)`` of the canvas side along its contour (100 px of
224 at 4 strokes, 50 px at 16), and at most half of it."""

CLEARANCE = 4.0
"""Ridge pixels within this many canvas pixels (at 224, scaled with the canvas) of a placed stroke are removed."""

SHORTEST_CONTOUR = 6
"""Contours of fewer ridge pixels are not drawn from."""

PREFERENCE = 2.0
"""A contour is drawn with probability ∝ (length × mean salience) ** PREFERENCE: long, salient ones first."""

SPREAD = (0.75, 8.0)
"""After a stroke is placed, ridges near it count less: by up to the first number (a fraction) within about the
second (canvas pixels at 224, a Gaussian's σ), so the next strokes go to the subject's other parts."""


DRAWN_SHARE = 0.45
"""A sketch of N strokes is compared with the most defining contours N strokes can draw
(:func:`defining_contours`): max(N, :data:`DRAWN_FEWEST`) × DRAWN_SHARE canvas sides of ridge in all (806 px at 4
and 8 strokes, 1613 px at 16 on a 224 px canvas: from about 16 strokes on, every contour of most photos)."""

DRAWN_FEWEST = 8
"""Fewer strokes are compared with as many contours as this many: compared with only the one or two longest
contours, blind raters recognised the gallery's 4-stroke sketches less often (25 % against 38 %; a portrait's head
was lost; docs/benchmarks.md)."""

DRAWN_REACH = 3.0
"""Canvas pixels (at 224) around a defining contour's ridge that its soft line keeps."""


def ridges(contours: torch.Tensor, threshold: float = RIDGE) -> torch.Tensor:
    """``contours [S, S]`` (0..1 edge probability) thinned to ridges ``[S, S]``: a pixel keeps its probability
    where it is at least ``threshold`` and no lower than both neighbours across the line (the gradient direction
    of the lightly blurred map, in 45° steps); 0 elsewhere."""
    smooth = gaussian_blur(contours[None, None].float(), 1.0)
    gradient = spatial_gradient(smooth)[0, 0]  # [2, S, S]: d/dx, d/dy
    angle = torch.atan2(gradient[1], gradient[0])
    sector = torch.remainder(torch.round(angle / (math.pi / 4)), 4).long()  # 0: x, 1: diagonal, 2: y, 3: anti
    padded = F.pad(smooth, (1, 1, 1, 1), value=0.0)[0, 0]
    size_y, size_x = smooth.shape[-2:]

    def shifted(dx: int, dy: int) -> torch.Tensor:
        return padded[1 + dy : 1 + dy + size_y, 1 + dx : 1 + dx + size_x]

    centre = smooth[0, 0]
    keep = torch.zeros_like(centre, dtype=torch.bool)
    for index, (dx, dy) in enumerate(((1, 0), (1, 1), (0, 1), (-1, 1))):
        peak = (centre >= shifted(dx, dy)) & (centre >= shifted(-dx, -dy))
        keep |= (sector == index) & peak
    return torch.where(keep & (contours >= threshold), contours.float(), torch.zeros_like(centre))


def place_strokes(ridge: torch.Tensor, count: int, generator: torch.Generator, canvas_size: int,
                  salience: torch.Tensor | None = None, fallback: torch.Tensor | None = None,
                  total: int | None = None) -> torch.Tensor:
    """``count`` strokes ``[count, 4, 2]`` (canvas pixels) along the contours of ``ridge [S, S]`` (from
    :func:`ridges`), as the module says. ``salience [S, S]`` 0..1: where the subject is (None: everywhere);
    ``fallback [S, S]``: where strokes start once no contour is left (None: ``ridge``); ``total``: the sketch's
    stroke count that sets the traced length (None: ``count``)."""
    strength = ridge.detach().float().cpu().numpy()
    weight = strength * (1.0 if salience is None else salience.detach().float().cpu().numpy())
    alive = (strength > 0) & (weight > 0)
    reach = STROKE_LENGTH / math.sqrt(max(total or count, 1)) * canvas_size
    clearance = CLEARANCE * canvas_size / 224
    labels = np.full(alive.shape, -1)
    groups = _label(alive, labels, 0)
    strokes = []
    for _ in range(count):
        kept = labels >= 0
        sizes = np.bincount(labels[kept], minlength=groups)
        scores = np.bincount(labels[kept], weights=weight[kept], minlength=groups) * (sizes >= SHORTEST_CONTOUR)
        if not len(scores) or scores.max() <= 0:
            break
        ys, xs = np.nonzero(labels == _draw(scores ** PREFERENCE, generator))
        first = _draw(weight[ys, xs], generator)
        path = _trace(alive, (int(ys[first]), int(xs[first])), reach)
        strokes.append(fit_cubic(torch.tensor(path, dtype=torch.float64)[:, [1, 0]] + 0.5))
        removed = _near(alive.shape, path, clearance) & alive
        alive &= ~removed
        for split in np.unique(labels[removed]):  # what is left of each contour the stroke took from
            rest = (labels == split) & alive
            labels[labels == split] = -1
            groups = _label(rest, labels, groups)
        weight = weight * (1 - SPREAD[0] * _around(alive.shape, path, SPREAD[1] * canvas_size / 224))
    points = torch.stack(strokes).float() if strokes else torch.zeros(0, 4, 2)
    if len(strokes) < count:  # no contour left: short chains where the map is still strong
        rest = count - len(strokes)
        left = torch.from_numpy(np.where(alive, weight, 0.0)).float()
        if float(left.sum()) <= 0:
            left = fallback if fallback is not None else ridge
        starts = sample_start_points(left.cpu().float(), rest, generator)
        points = torch.cat([points, chained_points(starts[None], CHAIN_STEP * canvas_size, generator)[0]])
    return points


def defining_contours(ridge: torch.Tensor, count: int, canvas_size: int) -> torch.Tensor | None:
    """Where the contours a sketch of ``count`` strokes is compared with lie, ``[S, S]`` 0/1 on the CPU, or None
    where that is every contour: the connected contours of ``ridge [S, S]`` (from :func:`ridges`, weighted by where the
    subject is), the most defining first (length × mean salience: the sum of their ridge values), taken while
    fewer than max(``count``, :data:`DRAWN_FEWEST`) × :data:`DRAWN_SHARE` canvas sides of ridge are taken,
    widened by :data:`DRAWN_REACH`.
    A few strokes are drawn towards the few lines that define the subject instead of being torn between all of
    its lines; many strokes are compared with all of them."""
    strength = ridge.detach().float().cpu().numpy()
    labels = np.full(strength.shape, -1)
    groups = _label(strength > 0, labels, 0)
    kept = labels >= 0
    sizes = np.bincount(labels[kept], minlength=groups)
    order = np.argsort(-np.bincount(labels[kept], weights=strength[kept], minlength=groups), kind="stable")
    before = np.cumsum(sizes[order]) - sizes[order]  # ridge pixels taken before each contour
    taken = before < max(count, DRAWN_FEWEST) * DRAWN_SHARE * canvas_size
    if taken.all():
        return None
    chosen = torch.from_numpy(np.isin(labels, order[taken])).float()[None, None]
    reach = max(1, round(DRAWN_REACH * canvas_size / 224))
    return F.max_pool2d(chosen, 2 * reach + 1, stride=1, padding=reach)[0, 0]


def initial_contour_points(ridge: torch.Tensor, count: int, seeds: list[int], canvas_size: int,
                           salience: torch.Tensor | None = None,
                           fallback: torch.Tensor | None = None) -> torch.Tensor:
    """Start strokes ``[len(seeds), count, 4, 2]`` (canvas pixels): :func:`place_strokes` once per seed, each
    with its own generator (reproducible whatever else is in the batch)."""
    if count == 0:
        return torch.zeros(len(seeds), 0, 4, 2)
    return torch.stack([place_strokes(ridge, count, torch.Generator().manual_seed(int(seed)), canvas_size,
                                      salience, fallback) for seed in seeds])


def fit_cubic(path: torch.Tensor) -> torch.Tensor:
    """The cubic Bézier ``[4, 2]`` through the first and last of ``path [m, 2]`` (ordered points) whose inner
    control points fit the rest in least squares at chord-length parameters; a path of fewer than four points
    gives the straight segment between its ends (a single point: a 2 px horizontal segment). Fitted in float64,
    returned in ``path``'s dtype."""
    dtype, path = path.dtype, path.double()
    if len(path) == 1:
        path = torch.cat([path - torch.tensor([[1.0, 0.0]], dtype=path.dtype),
                          path + torch.tensor([[1.0, 0.0]], dtype=path.dtype)])
    begin, end = path[0], path[-1]
    if len(path) < 4:
        return torch.stack([begin, begin + (end - begin) / 3, begin + 2 * (end - begin) / 3, end]).to(dtype)
    steps = (path[1:] - path[:-1]).norm(dim=-1)
    t = torch.cat([torch.zeros(1, dtype=path.dtype), steps.cumsum(0)])
    t = t / t[-1].clamp_min(1e-9)
    basis = bernstein(t)  # [m, 4]
    rhs = path - basis[:, :1] * begin - basis[:, 3:] * end
    inner = torch.linalg.lstsq(basis[:, 1:3], rhs).solution  # [2, 2]
    return torch.stack([begin, inner[0], inner[1], end]).to(dtype)


def _draw(weights: np.ndarray, generator: torch.Generator) -> int:
    """An index drawn with probability ∝ ``weights`` (>= 0, not all 0) by ``generator``."""
    probabilities = torch.from_numpy(np.asarray(weights, dtype=np.float64))
    return int(torch.multinomial(probabilities / probabilities.sum(), 1, generator=generator))


_NEIGHBOURS = [(dy, dx, math.hypot(dy, dx)) for dy in range(-2, 3) for dx in range(-2, 3) if dy or dx]
"""A ridge pixel's neighbours (dy, dx, distance): within two pixels, so a contour that thinning broke by a pixel
stays one."""


def _label(alive: np.ndarray, labels: np.ndarray, first: int) -> int:
    """Write a number from ``first`` on into ``labels [S, S]`` for each connected group (:data:`_NEIGHBOURS`)
    of True pixels of ``alive [S, S]``; returns the next unused number."""
    height, width = alive.shape
    seen = ~alive
    number = first
    for y0, x0 in zip(*np.nonzero(alive)):
        if seen[y0, x0]:
            continue
        seen[y0, x0] = True
        stack = [(y0, x0)]
        while stack:
            y, x = stack.pop()
            labels[y, x] = number
            for dy, dx, _ in _NEIGHBOURS:
                ny, nx = y + dy, x + dx
                if 0 <= ny < height and 0 <= nx < width and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        number += 1
    return number


def _distances(alive: np.ndarray, source: tuple[int, int], limit: float) -> tuple[dict, dict]:
    """Geodesic distances (pixels, each step its length) from ``source`` over the True pixels of ``alive`` up to
    ``limit``, and each reached pixel's predecessor."""
    height, width = alive.shape
    distance, parent = {source: 0.0}, {source: None}
    queue = [(0.0, source)]
    while queue:
        d, (y, x) = heapq.heappop(queue)
        if d > distance[(y, x)]:
            continue
        for dy, dx, step in _NEIGHBOURS:
            ny, nx = y + dy, x + dx
            nd = d + step
            if 0 <= ny < height and 0 <= nx < width and alive[ny, nx] and nd <= limit \
                    and nd < distance.get((ny, nx), math.inf):
                distance[(ny, nx)], parent[(ny, nx)] = nd, (y, x)
                heapq.heappush(queue, (nd, (ny, nx)))
    return distance, parent


def _trace(alive: np.ndarray, start: tuple[int, int], reach: float) -> list[tuple[int, int]]:
    """An ordered path of pixels (y, x) along the contour through ``start``: from the pixel farthest from
    ``start`` within ``reach / 2`` to the one farthest from that within ``reach`` (geodesic)."""
    distance, _ = _distances(alive, start, reach / 2)
    end = max(distance, key=distance.get)
    distance, parent = _distances(alive, end, reach)
    other = max(distance, key=distance.get)
    path = [other]
    while parent[path[-1]] is not None:
        path.append(parent[path[-1]])
    return path


def _around(shape: tuple[int, int], path: list[tuple[int, int]], sigma: float) -> np.ndarray:
    """``[S, S]`` 0..1: 1 on ``path``, falling off as a Gaussian of ``sigma`` pixels away from it."""
    marked = torch.zeros(1, 1, *shape)
    ys, xs = zip(*path)
    marked[0, 0, list(ys), list(xs)] = 1
    near = gaussian_blur(marked, sigma)
    return (near / near.max().clamp_min(1e-12)).clamp(0, 1)[0, 0].numpy()


def _near(shape: tuple[int, int], path: list[tuple[int, int]], radius: float) -> np.ndarray:
    """``[S, S]`` True within ``radius`` pixels of any pixel of ``path``."""
    marked = torch.zeros(1, 1, *shape)
    ys, xs = zip(*path)
    marked[0, 0, list(ys), list(xs)] = 1
    reach = int(math.ceil(radius))
    offsets = torch.arange(-reach, reach + 1, dtype=torch.float32)
    disc = ((offsets[:, None] ** 2 + offsets[None, :] ** 2) <= radius * radius).float()[None, None]
    return (F.conv2d(marked, disc, padding=reach)[0, 0] > 0).numpy()
