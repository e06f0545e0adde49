"""The pipeline: photo in, the best sketch per stroke count out, with progress events on the way.

    photo ─► load ─► plan (the options resolved for the engine's device and checked against the photo)
          ─► mask (U²-Net, optional) ─► frame (pad to a square canvas, or a square window around a small
             subject on the offline path; widths to canvas pixels here, once)
          ─► contours (HED, offline path) ─► saliency ─► per stroke count: initial strokes (after any start
          strokes; along the longest defining contours with HED) ─► optimize (with HED: compared with the line
          drawing of the defining contours that many strokes can draw) ─► SVG

Stroke counts share the photo's preprocessing and saliency, and the line drawing's taps and view bank where they
are compared with the same drawing (the whole one; with HED, few strokes with their defining contours). Run through
:meth:`Engine.events <clipsketch.core.engine.Engine.events>`, which yields the events of
:mod:`~clipsketch.core.events`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from importlib import metadata

import numpy as np
import torch
import torch.nn.functional as F

from clipsketch.core import mask as background
from clipsketch.core.animate import drawing_order
from clipsketch.core.backbones import BlurredTaps
from clipsketch.core.events import CountDone, CountResult, Event, Finished, Progress, SketchResult, Started
from clipsketch.core.contour_strokes import defining_contours, initial_contour_points, ridges
from clipsketch.core.contours import ContoursUnavailable, contour_map
from clipsketch.core.frame import Frame
from clipsketch.core.lines import line_drawing
from clipsketch.core.losses import paired_augmentation
from clipsketch.core.optimize import Controls, SeedTracker, Step, Target, clamp_points, optimize_strokes
from clipsketch.core.options import DEFAULT_CANVAS_SIZE, WEIGHT_RANGE, SketchOptions, SketchPlan, StartStrokes
from clipsketch.core.photo import PhotoInput, frame_map, frame_photo, load_photo
from clipsketch.core.raster import rasterize_strokes
from clipsketch.core.saliency import (
    initial_points,
    initial_route,
    upsample_attention,
    xdog_edges,
    xdog_reference_mask,
)
from clipsketch.core.step_batch import StepBatch
from clipsketch.core.strokes import Strokes
from clipsketch.core.svg import strokes_to_svg
from clipsketch.core.view_bank import draw_view_bank

CONTEXT = 0.4
"""How much the contours around the subject (outside its U²-Net mask) count against the subject's own, for where
strokes start and in the line drawing: a rocket's towers are drawn, after the rocket."""
EDGE_CLEARANCE = 3.0
"""Canvas pixels (at 224) along the photo's edge where contours are ignored."""
SUBJECT_MARGIN = 0.1
"""Around a subject that fills little of the photo, the canvas is a square window on the photo
(:func:`canvas_frame`): the subject's box with this much (a fraction of its longer side) on every edge."""
ZOOM_LEAST = 1.25
"""The window is used only when it spans at most 1 / ZOOM_LEAST of the side of the whole photo's square: a subject
that nearly fills the photo is framed with all of it."""
ZOOM_MOST = 4.0
"""The window spans at least 1 / ZOOM_MOST of the side of the whole photo's square, widened around a tinier subject:
HED's map (the photo at up to 480 px) and U²-Net's mask (320 px) hold no finer detail to draw."""
XDOG_NOTE = "Strokes start on XDoG edges and are compared with XDoG's line drawing instead of HED's contours."


def sketch_events(engine, photo: PhotoInput, options: SketchOptions | SketchPlan,
                  cancel: Callable[[], bool] = lambda: False,
                  finish: Callable[[], bool] = lambda: False, batch: StepBatch | None = None) -> Iterator[Event]:
    """What :meth:`Engine.events <clipsketch.core.engine.Engine.events>` does, for ``engine`` (an
    :class:`~clipsketch.core.engine.Engine`): a :class:`SketchOptions` is resolved here for the engine's device;
    a :class:`SketchPlan` must have been resolved for it and checked against this photo; ``batch``: the runs
    its optimisation steps are shared with."""
    image = load_photo(photo)
    plan = _plan_for(options, engine.device.type, image.size)
    options = plan.options
    use_mask = background.is_available() if options.mask is None else options.mask
    foreground = background.foreground_mask(image) if use_mask else None  # one U²-Net pass per photo
    photo = image  # HED sees the photo itself: its context (a rocket's towers) is drawn after the subject
    if foreground is not None:
        image = background.whiten_background(image, foreground)
    contour_init = engine.init_for(options) == "hed"
    frame = canvas_frame(foreground if contour_init and not options.start else None, image.width, image.height,
                         options.canvas_size, options.margin)
    framed = frame_photo(image, frame=frame)
    canvas = framed.image.to(engine.device)
    notes = list(engine.notes)
    contours = None
    if contour_init:
        try:
            contours = framed_contours(photo, frame, engine.device)  # one HED pass per photo
        except ContoursUnavailable as error:
            notes.append(f"{error}. {XDOG_NOTE}")
    subject = None if contours is None else subject_weight(foreground, frame)
    drawn = _weighted(contours, subject)  # what counts of the contours: the line drawing and where strokes start
    saliency, saliency_source = _saliency(engine, canvas, foreground, options, frame, drawn, subject is not None)
    yield Started(str(engine.device), engine.description, saliency_source, use_mask, notes, frame)

    ridge = None if contours is None else ridges(contours).to(engine.device)
    drawn_ridge = _weighted(ridge, subject)
    narrowed = drawn_ridge is not None and engine.target_for(options) == "lines"
    targets = {}  # the line drawing each stroke count is compared with: its defining contours, or all of them

    def count_target(count: int) -> Target:
        chosen = defining_contours(drawn_ridge, count, options.canvas_size) if narrowed else None
        key = None if chosen is None else int(chosen.sum())  # the chosen contours nest: as many pixels, the same
        if key not in targets:
            lines = drawn if chosen is None else drawn * chosen.to(drawn.device)
            # strokes enough for every contour are kept apart: the spare ones would pile onto the lines drawn
            targets[key] = replace(_target(engine, plan, image, canvas, frame, foreground, lines),
                                   saliency=saliency, contours=drawn_ridge, apart=narrowed and chosen is None)
        return targets[key]

    controls = Controls(engine.autocast, cancel, finish, engine.cuda_graphs, batch)
    results: dict[int, CountResult] = {}
    seeds = plan.seed_numbers
    bounds = photo_bounds(frame)
    zoom = Frame.padded(image.width, image.height, options.canvas_size, options.margin).scale / frame.scale
    width = frame.to_canvas_width(options.width)
    given = start_strokes(options.start, frame, width) if options.start else None
    free = None if given is None else 1 - coverage(given).to(saliency.device)
    free_saliency = saliency if free is None else saliency * free
    free_ridge = _weighted(ridge, free)
    width_range = (WEIGHT_RANGE[0] * width, WEIGHT_RANGE[1] * width) if options.line == "weighted" else None
    for count in options.strokes:
        fresh = count - (given.num_strokes if given else 0)
        if options.one_line:
            placed = initial_route(free_saliency, fresh, seeds)
        elif free_ridge is not None:
            placed = initial_contour_points(free_ridge, fresh, seeds, options.canvas_size, subject, free_saliency)
        else:
            placed = initial_points(free_saliency, fresh, seeds, options.canvas_size)
        points = clamp_points(placed, bounds)
        start = replace(Strokes.from_points(points, width, options.color, options.canvas_size), taper=plan.taper)
        frozen = None
        if given is not None:
            start = replace(given.repeat(len(seeds)).concat(start), taper=plan.taper)
            frozen = tuple(options.start.locked) + (False,) * fresh
        start = start.to(engine.device)
        config = replace(plan.optimizer, seeds_per_pass=engine.seeds_per_pass, bounds=bounds, frozen=frozen,
                         width_range=width_range, joined=options.one_line, zoom=zoom)
        steps = optimize_strokes(start, replace(count_target(count), augmentation_seed=options.seed + count), config,
                                 controls)
        tracker = yield from _as_progress(count, steps)
        result = _count_result(engine, count, start, tracker, seeds, frame, plan, use_mask, saliency_source,
                               saliency)
        results[count] = result
        yield CountDone(result)
        if finish():  # finished early: keep what is done, start no other stroke count
            break
    yield Finished(SketchResult(results, framed.image, saliency.cpu(), frame, engine.description,
                                saliency_source, use_mask, str(engine.device)))


def _plan_for(options: SketchOptions | SketchPlan, device_type: str, photo_size: tuple[int, int]) -> SketchPlan:
    """``options`` resolved for ``device_type`` and checked against the photo, or a plan that already was."""
    if isinstance(options, SketchOptions):
        return options.resolve(device_type).for_photo(photo_size)
    if options.device_type != device_type or options.photo_size != photo_size:
        raise ValueError(f"the plan was resolved for a {options.photo_size} photo on {options.device_type}, not "
                         f"for this {photo_size} photo on {device_type}")
    return options


def _target(engine, plan: SketchPlan, image, canvas: torch.Tensor, frame: Frame, foreground,
            contours: torch.Tensor | None = None) -> Target:
    """What a stroke count is matched with: the photo, or its line drawing seen through a blur (the engine's
    :meth:`~clipsketch.core.engine.Engine.target_for`; drawn from the contour map ``contours [S, S]`` (weighted
    by the subject, and cut to the defining contours for few strokes) when given, by XDoG otherwise), its taps,
    and the view bank."""
    options = plan.options
    compared, backbone = canvas, engine.backbone
    if engine.target_for(options) == "lines":
        style = options.lines
        outline = foreground if style.outline else None
        compared = line_drawing(image, options.canvas_size, options.margin, style, outline,
                                None if contours is None else contours.cpu(), frame).to(engine.device)
        backbone = BlurredTaps(engine.backbone, style.blur * options.canvas_size / DEFAULT_CANVAS_SIZE)
    with torch.no_grad(), engine.autocast():
        taps = backbone(compared)
    evaluation_taps = None  # the evaluation loss that picks the best strokes is computed in fp32
    if engine.precision != "fp32":
        with torch.no_grad():
            evaluation_taps = backbone(compared)
    view_bank = None  # augmentations drawn once for all stroke counts, the photo's views seen once
    if plan.view_bank and options.loss.augmentations:
        view_bank = draw_view_bank(compared, paired_augmentation(options.loss, options.canvas_size),
                                   options.loss.augmentations, plan.view_bank, options.seed, backbone,
                                   engine.autocast, options.loss.layer_weights)
    return Target(compared, taps, backbone, options.loss, evaluation_taps, view_bank)


def _saliency(engine, canvas: torch.Tensor, foreground, options: SketchOptions, frame: Frame,
              contours: torch.Tensor | None = None, masked: bool = False) -> tuple[torch.Tensor, str]:
    """Saliency ``[S, S]`` on the canvas and a description of where it came from; ``foreground`` is the
    photo's U²-Net mask ``[H, W]`` (None: no mask); ``contours``: HED's map on the canvas ``[S, S]``, already
    weighted by the subject when ``masked`` (:func:`subject_weight`; None: XDoG's, the ``contour`` map when HED's
    was asked for but cannot be had)."""
    size = canvas.shape[-1]
    if contours is not None:
        return contours.to(canvas.device), "U²-Net foreground × HED contours" if masked else "HED contours"
    if engine.init_for(options) == "reference":
        edges, edges_name = xdog_reference_mask(canvas)[0, 0], "XDoG (CLIPasso's map)"
    else:
        edges, edges_name = xdog_edges(canvas)[0, 0], "XDoG edges"
    if engine.attention is not None:
        with torch.no_grad():
            attention = upsample_attention(engine.attention(canvas.to(torch.float32)), size)[0, 0]
        return attention * edges, f"{engine.attention.description} attention × {edges_name}"
    if foreground is not None:  # no ViT weights: the foreground itself says where the subject is
        # framing pads with white, so frame the background and turn it back into the foreground
        backdrop = frame_photo(background.backdrop_image(foreground), frame=frame).image[0, 0]
        return (1 - backdrop).to(canvas.device) * edges, f"U²-Net foreground × {edges_name}"
    return edges, edges_name


def _count_result(engine, count: int, start: Strokes, tracker: SeedTracker, seeds: list[int], frame: Frame,
                  plan: SketchPlan, use_mask: bool, saliency_source: str, saliency: torch.Tensor) -> CountResult:
    options = plan.options
    winner = tracker.winner
    strokes = Strokes(tracker.best_points[winner : winner + 1], tracker.best_widths(winner, start.widths[:1]),
                      start.colors[:1].detach().cpu(), options.canvas_size, start.taper)
    loss = float(tracker.best_loss[winner])
    svg = strokes_to_svg(strokes, frame=frame, joined=options.one_line, metadata={
        "seed": seeds[winner], "model": engine.description, "target": engine.target_for(options),
        "schedule": options.schedule, "line": options.line, **({"one-line": "true"} if options.one_line else {}),
        "reseed": "on" if plan.optimizer.reseed_after else "off",
        "drawing-order": " ".join(map(str, [0] if options.one_line else drawing_order(strokes, saliency))),
        "loss": f"{loss:.6g}", "loss-precision": "fp32", "iterations": options.iterations,
        "iterations-run": tracker.stopped[winner],
        "mask": "u2netp" if use_mask else "none", "saliency": saliency_source, "generator": _generator(),
        **({"note": "offline backbone: CLIP weights were unavailable"} if engine.description.startswith("offline")
           else {}),
        **({"start-strokes": len(options.start), "locked-strokes": sum(options.start.locked)} if options.start
           else {}),
    })
    return CountResult(count, strokes, frame, svg, loss, seeds[winner], tracker.history[winner],
                       {seed: float(v) for seed, v in zip(seeds, tracker.best_loss)}, tracker.stopped[winner],
                       options.schedule, options.one_line)


def framed_contours(image, frame: Frame, device: torch.device | str = "cpu") -> torch.Tensor:
    """HED's contour map (:func:`~clipsketch.core.contours.contour_map`) of ``image`` (the photo) on the canvas
    ``[S, S]`` 0..1 (on the CPU), framed as the photo is: no contour outside the photo, nor within
    :data:`EDGE_CLEARANCE` of its edge (where HED answers to the photo's own border); ``device``: where the
    network runs.

    Raises:
        ContoursUnavailable: HED's weights cannot be had."""
    probability = torch.from_numpy(contour_map(image, device=device))[None, None]
    contours = frame_map(probability, frame)[0, 0].clamp(0, 1)
    left, top, right, bottom = photo_bounds(frame)
    clearance = EDGE_CLEARANCE * frame.canvas_size / DEFAULT_CANVAS_SIZE
    centres = torch.arange(frame.canvas_size, dtype=torch.float32) + 0.5
    rows = (centres >= top + clearance) & (centres <= bottom - clearance)
    columns = (centres >= left + clearance) & (centres <= right - clearance)
    return contours * (rows[:, None] & columns[None, :])


def _weighted(values: torch.Tensor | None, weight: torch.Tensor | None) -> torch.Tensor | None:
    """``values [S, S]`` times ``weight [S, S]`` (on ``values``' device); either None: ``values`` as they are."""
    return values if values is None or weight is None else values * weight.to(values.device)


def subject_weight(foreground, frame: Frame, context: float = CONTEXT) -> torch.Tensor | None:
    """How much each canvas pixel's contours count ``[S, S]``: 1 on the subject (the U²-Net ``foreground
    [H, W]`` framed and widened by a few pixels, so that its outline, on the mask's edge, is the subject's),
    ``context`` elsewhere; None without a mask (every contour counts)."""
    if foreground is None:
        return None
    mask = frame_map(torch.as_tensor(np.asarray(foreground, dtype=np.float32))[None, None], frame)
    reach = max(1, round(4 * frame.canvas_size / DEFAULT_CANVAS_SIZE))
    subject = F.max_pool2d(mask, 2 * reach + 1, stride=1, padding=reach)[0, 0].clamp(0, 1)
    return subject + context * (1 - subject)


@functools.cache
def _generator() -> str:
    """``clipsketch VERSION``, from the installed package's metadata (core does not import the package root)."""
    try:
        return f"clipsketch {metadata.version('clipsketch')}"
    except metadata.PackageNotFoundError:
        return "clipsketch"


def start_strokes(start: StartStrokes, frame: Frame, width: float) -> Strokes:
    """``start`` (photo pixels) as one sketch on the canvas ``frame`` maps the photo to; a start stroke without
    a width gets ``width`` (canvas pixels)."""
    points = frame.to_canvas(torch.tensor(start.points, dtype=torch.float64).reshape(-1, 4, 2)).float()
    widths = torch.tensor([width if w is None else frame.to_canvas_width(w) for w in start.widths],
                          dtype=torch.float32)
    colors = torch.tensor(start.colors, dtype=torch.float32)
    return Strokes(points[None], widths[None], colors[None], frame.canvas_size)


def coverage(strokes: Strokes, reach: int = 3) -> torch.Tensor:
    """Where ``strokes`` (one sketch) already draw, ``[S, S]`` 0..1: their opaque ink, widened by ``reach``
    pixels (a max filter), so new strokes start where the existing ones do not already cover the subject."""
    opaque = Strokes(strokes.points, strokes.widths, torch.ones_like(strokes.colors), strokes.canvas_size)
    with torch.no_grad():
        ink = rasterize_strokes(opaque).alpha
    return F.max_pool2d(ink, 2 * reach + 1, stride=1, padding=reach)[0, 0]


def _as_progress(count: int, steps: Generator[Step, None, SeedTracker]) -> Generator[Progress, None, SeedTracker]:
    """The optimiser's steps for stroke count ``count`` as :class:`Progress` events; returns its tracker."""
    while True:
        try:
            step = next(steps)
        except StopIteration as done:
            return done.value
        yield Progress(count, step)


def photo_bounds(frame: Frame) -> tuple[float, float, float, float]:
    """The photo's rectangle on the canvas, ``(left, top, right, bottom)`` in canvas pixels, cut to the canvas (a
    window on the photo, :func:`canvas_frame`, shows only part of it): strokes stay in it, so that placed over the
    photo (in a document, say) none strays into the frame's padding."""
    corners = frame.to_canvas(torch.tensor([[0.0, 0.0], [frame.width, frame.height]], dtype=torch.float64))
    (left, top), (right, bottom) = corners.clamp(0, frame.canvas_size).tolist()
    return left, top, right, bottom


def canvas_frame(foreground, width: int, height: int, canvas_size: int, margin: float = 0.0) -> Frame:
    """The canvas's frame for a ``width × height`` photo: the whole photo padded to a square
    (:meth:`Frame.padded`), or, where the subject fills little of it, a square window around the subject
    (:meth:`Frame.around`: the box of ``foreground [H, W]`` above one half, with :data:`SUBJECT_MARGIN` and
    ``margin`` on every edge, when it is at least :data:`ZOOM_LEAST` times smaller, at most :data:`ZOOM_MOST`
    times), so that the strokes have the canvas's pixels to draw the subject's parts with. ``foreground`` None:
    the whole photo."""
    whole = Frame.padded(width, height, canvas_size, margin)
    if foreground is None:
        return whole
    ys, xs = np.nonzero(np.asarray(foreground) > 0.5)
    if not len(xs):
        return whole
    left, top, right, bottom = float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)
    padding = SUBJECT_MARGIN + margin
    half = max(right - left, bottom - top, whole.scale * canvas_size / ZOOM_MOST / (1 + 2 * padding)) / 2
    centre_x, centre_y = (left + right) / 2, (top + bottom) / 2
    box = (centre_x - half, centre_y - half, centre_x + half, centre_y + half)
    window = Frame.around(width, height, box, canvas_size, padding)
    return window if window.scale * ZOOM_LEAST <= whole.scale else whole
