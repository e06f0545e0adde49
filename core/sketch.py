"""The engine's front door: photo in, the best sketch per stroke count out, with progress events on the way.

    engine = Engine()                        # loads the models once (CLIP when its weights are there)
    result = engine.sketch("cat.jpg", SketchOptions(strokes=(4, 8, 16, 32)))
    result.sketches[16].svg                  # SVG text in the photo's coordinates

``Engine.events`` yields :class:`Started`, then :class:`Progress` per iteration, :class:`CountDone` per stroke
count and :class:`Finished`; the CLI draws a progress bar from them and the server streams them. Stroke counts
share the photo's preprocessing, saliency and unaugmented features.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from clipsketch import __version__
from clipsketch.core import mask as background
from clipsketch.core.backbones import (
    BlurredTaps,
    ClipResNetTaps,
    ClipViTAttention,
    OfflineTaps,
    WeightsUnavailable,
    create_clip_visual,
    create_offline_model,
)
from clipsketch.core.frame import Frame
from clipsketch.core.limits import (
    DEFAULT_STROKES,
    ENGINE_MAX_ITERATIONS,
    ENGINE_MAX_SEEDS,
    ENGINE_MAX_STROKES,
)
from clipsketch.core.lines import LineStyle, line_drawing
from clipsketch.core.losses import LossConfig, paired_augmentation
from clipsketch.core.optimize import OptimizerConfig, SeedTracker, Step, clamp_points, optimize_strokes
from clipsketch.core.photo import PhotoInput, frame_photo, load_photo
from clipsketch.core.raster import rasterize_strokes
from clipsketch.core.saliency import (
    INIT_MODES,
    initial_points,
    upsample_attention,
    xdog_edges,
    xdog_reference_mask,
)
from clipsketch.core.schedules import DEFAULT_SCHEDULE, schedule_named
from clipsketch.core.strokes import Strokes, default_width
from clipsketch.core.svg import strokes_to_svg, svg_to_strokes
from clipsketch.core.view_bank import draw_view_bank

@dataclass(frozen=True)
class StartStrokes:
    """Strokes a sketch starts from, in the photo's pixels: ``points`` one ``(x0, y0, x1, y1, x2, y2, x3, y3)``
    per cubic stroke; ``widths`` full widths (photo pixels); ``colors`` RGBA 0..1; ``locked`` strokes are drawn in
    every raster (they shape the loss) but never move. Tuples, so options stay hashable and printable in full."""

    points: tuple[tuple[float, ...], ...]
    widths: tuple[float, ...]
    colors: tuple[tuple[float, float, float, float], ...]
    locked: tuple[bool, ...]

    def __post_init__(self) -> None:
        count = len(self.points)
        if not (len(self.widths) == len(self.colors) == len(self.locked) == count):
            raise ValueError("start strokes need as many widths, colors and lock flags as strokes")
        for k, (control, width, color) in enumerate(zip(self.points, self.widths, self.colors)):
            if len(control) != 8 or not all(math.isfinite(v) for v in control):
                raise ValueError(f"start stroke {k}: needs 8 finite coordinates (x0 y0 … x3 y3), got {control}")
            if not (math.isfinite(width) and width > 0):
                raise ValueError(f"start stroke {k}: width must be a positive number of photo pixels, got {width}")
            if len(color) != 4 or not all(0 <= c <= 1 for c in color):
                raise ValueError(f"start stroke {k}: color must be 4 values (RGBA) within 0..1")

    def __len__(self) -> int:
        return len(self.points)

    @classmethod
    def from_svg(cls, svg: str | bytes, locked: bool = False) -> StartStrokes:
        """Every stroked path of an SVG (clipsketch's own, or any: M/L/H/V/C/S/Q/T/A, relative commands, several
        subpaths, transforms) as cubic strokes in the document's user units, taken as photo pixels: each segment
        is one stroke, so a long path counts as several. Raises :class:`~clipsketch.core.svg.SvgError`."""
        imported = svg_to_strokes(svg)
        points = imported.frame.to_target(imported.strokes.points[0].double()).reshape(-1, 8).tolist()
        widths = (imported.strokes.widths[0].double() * imported.frame.scale).tolist()
        colors = [tuple(color) for color in imported.strokes.colors[0].double().tolist()]
        return cls(tuple(map(tuple, points)), tuple(widths), tuple(colors), (locked,) * len(points))

    def check_within(self, photo_size: tuple[float, float]) -> None:
        """Refuse coordinates absurdly far from the photo (more than one photo size beyond any edge)."""
        width, height = photo_size
        for k, control in enumerate(self.points):
            xs, ys = control[0::2], control[1::2]
            if min(xs) < -width or max(xs) > 2 * width or min(ys) < -height or max(ys) > 2 * height:
                raise ValueError(f"start stroke {k} lies far outside the {width:g}×{height:g} photo: are its "
                                 "coordinates in the photo's pixels?")


TARGETS = ("photo", "lines")
"""What a sketch can be compared with: the photo, or its line drawing (:mod:`~clipsketch.core.lines`)."""


@dataclass(frozen=True)
class SketchOptions:
    """What to draw. ``strokes``: one sketch per count; ``schedule`` how the loss is optimised (a name in
    :data:`~clipsketch.core.schedules.SCHEDULES`), whose ``iterations``, ``seeds`` (random starts per count, the
    lowest evaluation loss wins, numbered from ``seed``), learning rate and ``loss`` augmentations apply unless
    given here (None: the schedule's, ``iterations`` and ``seeds`` as it runs on the engine's device: see
    :meth:`for_device`); ``mask``: background removal (None: when installed);
    ``width`` full stroke width in canvas pixels (default 3 px per 224) and ``color`` RGBA 0..1; ``margin``
    around the photo when it is padded to a square (fraction of its longer side); ``init`` the XDoG map that
    start points are drawn on (:data:`~clipsketch.core.saliency.INIT_MODES`; ``auto``: CLIPasso's own
    ``reference`` map on the CLIP path, thin ``contour`` edges on the offline one); ``target`` what the sketch
    is compared with (:data:`TARGETS`; ``auto``: the photo on the CLIP path, its line drawing on the offline one,
    whose ImageNet features would otherwise ask for texture) and ``lines`` how that drawing is made."""

    strokes: tuple[int, ...] = DEFAULT_STROKES
    schedule: str = DEFAULT_SCHEDULE
    iterations: int | None = None
    seeds: int | None = None
    seed: int = 0
    mask: bool | None = None
    width: float | None = None
    color: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)
    canvas_size: int = 224
    margin: float = 0.05
    loss: LossConfig | None = None
    init: str = "auto"
    target: str = "auto"
    lines: LineStyle = LineStyle()
    start: StartStrokes | None = None
    """Strokes to start from (and keep, when locked); each stroke count is the total, start strokes included."""

    def __post_init__(self) -> None:
        counts = tuple(int(n) for n in ((self.strokes,) if isinstance(self.strokes, int) else self.strokes))
        object.__setattr__(self, "strokes", counts)
        plan = schedule_named(self.schedule)
        if self.loss is None:
            object.__setattr__(self, "loss", LossConfig(augmentations=plan.augmentations))
        if not counts:
            raise ValueError("ask for at least one stroke count")
        for count in counts:
            if not 1 <= count <= ENGINE_MAX_STROKES:
                raise ValueError(f"stroke count must be between 1 and {ENGINE_MAX_STROKES}, got {count}")
        if len(set(counts)) != len(counts):
            raise ValueError(f"stroke counts repeat: {list(counts)}")
        if self.start is not None and min(counts) < len(self.start):
            raise ValueError(f"{min(counts)} strokes asked in all, but the start has {len(self.start)} strokes: ask "
                             f"for at least {len(self.start)}")
        if self.iterations is not None and not 1 <= self.iterations <= ENGINE_MAX_ITERATIONS:
            raise ValueError(f"iterations must be between 1 and {ENGINE_MAX_ITERATIONS}, got {self.iterations}")
        if self.seeds is not None and not 1 <= self.seeds <= ENGINE_MAX_SEEDS:
            raise ValueError(f"seeds must be between 1 and {ENGINE_MAX_SEEDS}, got {self.seeds}")
        if self.width is not None and not 0 < self.width <= self.canvas_size / 4:
            raise ValueError(f"stroke width must be > 0 and at most {self.canvas_size / 4:g} canvas pixels")
        if len(self.color) != 4 or not all(0 <= c <= 1 for c in self.color):
            raise ValueError("color must be 4 values (RGBA) within 0..1")
        if not 0 <= self.margin <= 1:
            raise ValueError(f"margin must be within 0..1, got {self.margin}")
        if self.init not in ("auto", *INIT_MODES):
            raise ValueError(f"init must be one of auto, {', '.join(INIT_MODES)}, got {self.init!r}")
        if self.target not in ("auto", *TARGETS):
            raise ValueError(f"target must be one of auto, {', '.join(TARGETS)}, got {self.target!r}")

    def for_device(self, device_type: str) -> SketchOptions:
        """These options with the schedule's ``iterations`` and ``seeds`` as it runs on a ``device_type`` device
        (``"cpu"``, ``"cuda"``) where they are not given."""
        plan = schedule_named(self.schedule, device_type)
        return replace(self, iterations=self.iterations or plan.iterations, seeds=self.seeds or plan.seeds)

    def optimizer(self, device_type: str, seeds_per_pass: int | None,
                  bounds: tuple[float, float, float, float] | None = None,
                  frozen: tuple[bool, ...] | None = None) -> OptimizerConfig:
        """The optimiser's settings for one stroke count on a ``device_type`` device."""
        plan = schedule_named(self.schedule, device_type)
        resolved = self.for_device(device_type)
        iterations, seeds = resolved.iterations, resolved.seeds
        return OptimizerConfig(iterations=iterations, learning_rate=plan.learning_rate,
                               final_learning_rate=plan.final_learning_rate, warmup=plan.warmup,
                               narrow_after=plan.narrow_after(iterations),
                               augment_from=plan.augment_from(iterations) if seeds > 1 else 0,
                               tolerance=plan.tolerance,
                               seeds_per_pass=seeds_per_pass,
                               bounds=bounds, frozen=frozen)


@dataclass
class CountResult:
    """The winning sketch for one stroke count: ``strokes`` (batch of one, canvas pixels), ``svg`` (photo
    coordinates), its evaluation ``loss`` (fp32, unaugmented) and ``seed``, ``history`` of (iteration, evaluation
    loss) of that seed, the best loss of every seed, the ``frame`` that maps the strokes onto the photo, and the
    steps the winning seed ran (``iterations_run``: fewer than asked when it converged or the job finished early)."""

    count: int
    strokes: Strokes
    frame: Frame
    svg: str
    loss: float
    seed: int
    history: list[tuple[int, float]]
    seed_losses: dict[int, float]
    iterations_run: int
    schedule: str


@dataclass
class SketchResult:
    """All stroke counts of one photo, with what the run used: ``canvas`` ``[1, 3, S, S]`` the framed (and
    masked) photo, ``saliency`` ``[S, S]``, ``frame`` canvas → photo pixels."""

    sketches: dict[int, CountResult]
    canvas: torch.Tensor
    saliency: torch.Tensor
    frame: Frame
    backbone: str
    saliency_source: str
    mask_used: bool
    device: str


@dataclass
class Started:
    device: str
    backbone: str
    saliency_source: str
    mask_used: bool
    notes: list[str]
    frame: Frame


@dataclass
class Progress:
    count: int
    step: Step


@dataclass
class CountDone:
    result: CountResult


@dataclass
class Finished:
    result: SketchResult


Event = Started | Progress | CountDone | Finished


class Engine:
    """Loaded models and where they run; reusable for many photos.

    Args:
        backbone: ``clip``, ``offline`` or ``auto`` (CLIP when its weights are cached or reachable, else offline).
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
        precision: ``auto`` (bf16 autocast where the device supports it), ``fp32`` or ``bf16``.
        weights: open_clip pretrained tag (``openai``) or ``random`` (architecture only: tests, benchmarks).
        clip_weights: a local CLIP checkpoint (file or directory) for the loss model.
        loss_model / saliency_model: open_clip model names (a ResNet for the loss, a ViT for saliency).
        seeds_per_pass: seeds per backbone pass; None (default) runs a stroke count's seeds as one batch, the
            fastest; fewer hold less memory (on this 2-core CPU one seed per pass is ~15 % slower, ~0.4 GiB less).
        cuda_graphs: on a CUDA GPU, replay the backbone's passes of every step from CUDA graphs (same results,
            fewer kernel launches; see :mod:`~clipsketch.core.cuda_graphs`). No effect on a CPU.
    """

    def __init__(
        self,
        backbone: str = "auto",
        device: str = "auto",
        precision: str = "auto",
        weights: str = "openai",
        clip_weights: str | None = None,
        loss_model: str = "RN101-quickgelu",
        saliency_model: str = "ViT-B-32-quickgelu",
        seeds_per_pass: int | None = None,
        cuda_graphs: bool = True,
    ):
        if backbone not in ("auto", "clip", "offline"):
            raise ValueError(f"backbone must be auto, clip or offline, got {backbone!r}")
        if precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision must be auto, fp32 or bf16, got {precision!r}")
        self.device = _pick_device(device)
        self.notes: list[str] = []
        self.attention: ClipViTAttention | None = None
        if backbone in ("auto", "clip"):
            try:
                self.backbone = ClipResNetTaps(
                    create_clip_visual(loss_model, weights, clip_weights), f"clip:{loss_model}/{weights}"
                )
                self.attention = ClipViTAttention(
                    create_clip_visual(saliency_model, weights), f"clip:{saliency_model}/{weights}"
                )
            except WeightsUnavailable as error:
                if backbone == "clip":
                    raise
                self.notes.append(f"{error}. Using the offline backbone (EfficientNet-Lite0): "
                                  "sketches are less semantic than with CLIP.")
                self.backbone = OfflineTaps(create_offline_model())
        else:
            self.backbone = OfflineTaps(create_offline_model())
        self.backbone.to(self.device)
        if self.attention is not None:
            self.attention.to(self.device)
        self.precision = _pick_precision(precision, self.device)
        self.seeds_per_pass = seeds_per_pass
        self.cuda_graphs = cuda_graphs

    @property
    def description(self) -> str:
        return self.backbone.description

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "bf16":  # no weight-cast cache: a CUDA graph must hold every cast it replays
            return torch.autocast(self.device.type, dtype=torch.bfloat16, cache_enabled=False)
        return contextlib.nullcontext()

    def sketch(
        self,
        photo: PhotoInput,
        options: SketchOptions | None = None,
        on_event: Callable[[Event], None] | None = None,
        cancel: Callable[[], bool] = lambda: False,
        finish: Callable[[], bool] = lambda: False,
    ) -> SketchResult:
        """Run :meth:`events` to the end and return the :class:`SketchResult`."""
        for event in self.events(photo, options or SketchOptions(), cancel, finish):
            if on_event is not None:
                on_event(event)
            if isinstance(event, Finished):
                return event.result
        raise RuntimeError("the engine stopped without a result")

    def events(
        self, photo: PhotoInput, options: SketchOptions, cancel: Callable[[], bool] = lambda: False,
        finish: Callable[[], bool] = lambda: False,
    ) -> Iterator[Event]:
        """Sketch ``photo`` for every stroke count in ``options``, yielding events (see the module docstring).
        ``finish()`` true ends the job early with what it has: the stroke count in progress gets its best strokes
        so far, later counts are not drawn, and :class:`Finished` holds the counts done.

        Raises:
            PhotoError: the photo cannot be used. ValueError: bad options. MaskUnavailable: ``mask=True`` but
            U²-Net is not installed. SketchCancelled: ``cancel()`` became true.
        """
        options = options.for_device(self.device.type)
        image = load_photo(photo)
        use_mask = background.is_available() if options.mask is None else options.mask
        foreground = background.foreground_mask(image) if use_mask else None  # one U²-Net pass per photo
        if foreground is not None:
            image = background.whiten_background(image, foreground)
        framed = frame_photo(image, options.canvas_size, options.margin)
        canvas = framed.image.to(self.device)
        saliency, saliency_source = self._saliency(canvas, foreground, options.margin, options.init)
        yield Started(str(self.device), self.description, saliency_source, use_mask, list(self.notes), framed.frame)

        target, backbone = canvas, self.backbone
        if self.target_for(options) == "lines":
            style = options.lines
            outline = foreground if style.outline else None
            target = line_drawing(image, options.canvas_size, options.margin, style, outline).to(self.device)
            backbone = BlurredTaps(self.backbone, style.blur * options.canvas_size / 224)
        with torch.no_grad(), self.autocast():
            photo_taps = backbone(target)
        evaluation_taps = None  # the evaluation loss that picks the best strokes is computed in fp32
        if self.precision != "fp32":
            with torch.no_grad():
                evaluation_taps = backbone(target)
        plan = schedule_named(options.schedule, self.device.type)
        view_bank = None  # augmentations drawn once for all stroke counts, the photo's views seen once
        if plan.view_bank and options.loss.augmentations:
            view_bank = draw_view_bank(target, paired_augmentation(options.loss, options.canvas_size),
                                       options.loss.augmentations, plan.view_bank, options.seed, backbone,
                                       self.autocast, options.loss.layer_weights)
        results: dict[int, CountResult] = {}
        width = options.width if options.width is not None else default_width(options.canvas_size)
        seeds = [options.seed + k for k in range(options.seeds)]
        bounds = photo_bounds(framed.frame)
        given = start_strokes(options.start, framed.frame, image.size) if options.start else None
        free_saliency = saliency if given is None else saliency * (1 - coverage(given).to(saliency.device))
        for count in options.strokes:
            fresh = count - (given.num_strokes if given else 0)
            points = clamp_points(initial_points(free_saliency, fresh, seeds, options.canvas_size), bounds)
            start = Strokes.from_points(points, width, options.color, options.canvas_size)
            frozen = None
            if given is not None:
                start = given.repeat(len(seeds)).concat(start)
                frozen = tuple(options.start.locked) + (False,) * fresh
            start = start.to(self.device)
            config = options.optimizer(self.device.type, self.seeds_per_pass, bounds, frozen)
            steps = optimize_strokes(start, target, photo_taps, backbone, options.loss, config, self.autocast, cancel,
                                     augmentation_seed=options.seed + count, evaluation_taps=evaluation_taps,
                                     finish=finish, cuda_graphs=self.cuda_graphs, view_bank=view_bank)
            tracker = yield from _as_progress(count, steps)
            result = self._count_result(count, start, tracker, seeds, framed.frame, options, use_mask,
                                        saliency_source)
            results[count] = result
            yield CountDone(result)
            if finish():  # finished early: keep what is done, start no other stroke count
                break
        yield Finished(SketchResult(results, framed.image, saliency.cpu(), framed.frame, self.description,
                                    saliency_source, use_mask, str(self.device)))

    def target_for(self, options: SketchOptions) -> str:
        """What this engine compares ``options``' sketches with: ``photo`` or ``lines``."""
        if options.target == "auto":
            return "photo" if self.attention is not None else "lines"
        return options.target

    def _saliency(self, canvas: torch.Tensor, foreground, margin: float, init: str) -> tuple[torch.Tensor, str]:
        """Saliency ``[S, S]`` on the canvas and a description of where it came from; ``foreground`` is the
        photo's U²-Net mask ``[H, W]`` (None: no mask); ``init`` which XDoG map (see :class:`SketchOptions`)."""
        size = canvas.shape[-1]
        if init == "auto":
            init = "reference" if self.attention is not None else "contour"
        if init == "reference":
            edges, edges_name = xdog_reference_mask(canvas)[0, 0], "XDoG (CLIPasso's map)"
        else:
            edges, edges_name = xdog_edges(canvas)[0, 0], "XDoG edges"
        if self.attention is not None:
            with torch.no_grad():
                attention = upsample_attention(self.attention(canvas.to(torch.float32)), size)[0, 0]
            return attention * edges, f"{self.attention.description} attention × {edges_name}"
        if foreground is not None:  # no ViT weights: the foreground itself says where the subject is
            # framing pads with white, so frame the background and turn it back into the foreground
            backdrop = frame_photo(background.backdrop_image(foreground), size, margin).image[0, 0]
            return (1 - backdrop).to(canvas.device) * edges, f"U²-Net foreground × {edges_name}"
        return edges, edges_name

    def _count_result(self, count, start, tracker, seeds, frame, options, use_mask, saliency_source) -> CountResult:
        winner = tracker.winner
        strokes = Strokes(tracker.best_points[winner : winner + 1], start.widths[:1].detach().cpu(),
                          start.colors[:1].detach().cpu(), options.canvas_size)
        loss = float(tracker.best_loss[winner])
        svg = strokes_to_svg(strokes, frame=frame, metadata={
            "seed": seeds[winner], "model": self.description, "target": self.target_for(options),
            "schedule": options.schedule,
            "loss": f"{loss:.6g}", "loss-precision": "fp32", "iterations": options.iterations,
            "iterations-run": tracker.stopped[winner],
            "mask": "u2netp" if use_mask else "none", "saliency": saliency_source, "generator": f"clipsketch {__version__}",
            **({"note": "offline backbone: CLIP weights were unavailable"} if self.description.startswith("offline")
               else {}),
            **({"start-strokes": len(options.start), "locked-strokes": sum(options.start.locked)} if options.start
               else {}),
        })
        return CountResult(count, strokes, frame, svg, loss, seeds[winner], tracker.history[winner],
                           {seed: float(v) for seed, v in zip(seeds, tracker.best_loss)}, tracker.stopped[winner],
                           options.schedule)


def start_strokes(start: StartStrokes, frame: Frame, photo_size: tuple[int, int]) -> Strokes:
    """``start`` (photo pixels) as one sketch on the canvas ``frame`` maps the photo to."""
    start.check_within(photo_size)
    points = frame.to_canvas(torch.tensor(start.points, dtype=torch.float64).reshape(-1, 4, 2)).float()
    widths = torch.tensor(start.widths, dtype=torch.float32) / frame.scale
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


def canvas_width(photo_pixels: float, photo_size: tuple[int, int], options: SketchOptions | None = None) -> float:
    """A stroke width in photo pixels (the unit of the CLI, the server and the extension) as canvas pixels (the
    engine's), through the frame the photo is sketched in."""
    options = options or SketchOptions()
    return photo_pixels / Frame.padded(*photo_size, options.canvas_size, options.margin).scale


def photo_width(canvas_pixels: float | None, photo_size: tuple[int, int], options: SketchOptions | None = None) -> float:
    """The inverse of :func:`canvas_width`; None is the default width."""
    options = options or SketchOptions()
    pixels = default_width(options.canvas_size) if canvas_pixels is None else canvas_pixels
    return pixels * Frame.padded(*photo_size, options.canvas_size, options.margin).scale


def photo_bounds(frame: Frame) -> tuple[float, float, float, float]:
    """The photo's rectangle on the canvas, ``(left, top, right, bottom)`` in canvas pixels: strokes stay in it,
    so that placed over the photo (in a document, say) none strays into the frame's padding."""
    corners = frame.to_canvas(torch.tensor([[0.0, 0.0], [frame.width, frame.height]], dtype=torch.float64))
    (left, top), (right, bottom) = corners.tolist()
    return left, top, right, bottom


@functools.lru_cache(maxsize=4)
def shared_engine(**settings) -> Engine:
    """One :class:`Engine` per distinct settings in this process (models load once)."""
    return Engine(**settings)


def sketch(photo: PhotoInput, strokes: int | tuple[int, ...] = 16, **options) -> SketchResult:
    """Sketch ``photo`` with the default engine; ``options`` are :class:`SketchOptions` fields."""
    return shared_engine().sketch(photo, SketchOptions(strokes=strokes, **options))


def _pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but PyTorch sees no CUDA GPU here")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


def _pick_precision(name: str, device: torch.device) -> str:
    if name != "auto":
        return name
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"

