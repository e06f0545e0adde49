"""The request contract: what a sketch may be asked, validated where it enters and resolved once (no torch).

Every front end builds one :class:`SketchOptions` from what it is given (the CLI's arguments, a ``SketchRequest``,
the extension's dialog) and :meth:`SketchOptions.resolve` turns it into the :class:`SketchPlan` a device runs:
the schedule resolved for that device into the optimizer's numbers, every default filled in. Defaults are
defined here once (the server's ``GetInfo`` reports them; clients send 0 or empty to mean them). Units at this
boundary are the photo's pixels (widths too); the pipeline converts them to canvas pixels once, where it frames
the photo (:meth:`~clipsketch.core.frame.Frame.to_canvas_width`).

A bad field raises :class:`OptionError` naming it; the server answers INVALID_ARGUMENT, the CLI exits with 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from clipsketch.core.schedules import DEFAULT_SCHEDULE, SCHEDULES, OptimizerConfig, schedule_named

Color = tuple[float, float, float, float]

ENGINE_MAX_STROKES = 512
ENGINE_MAX_SEEDS = 32
ENGINE_MAX_ITERATIONS = 100_000
"""The engine's own bounds; a server's :class:`~clipsketch.core.limits.Limits` are narrower."""

DEFAULT_STROKES = (16,)
"""Stroke counts of a request that asks for none."""

DEFAULT_COLOR: Color = (0.0, 0.0, 0.0, 1.0)
"""Opaque black, RGBA 0..1."""

DEFAULT_CANVAS_SIZE = 224
"""Side of the square working canvas in pixels (CLIP's input size)."""

REFERENCE_WIDTH = 3.0
"""Full stroke width in pixels on the 224 px canvas, as CLIPasso draws: the default width."""

DEFAULT_MARGIN = 0.05
"""White margin around the photo when it is padded to a square, a fraction of its longer side."""

INIT_MODES = ("contour", "reference", "hed")
"""Where strokes start: two XDoG maps (:mod:`~clipsketch.core.saliency`), or HED's contours, a network trained on
the lines people draw (:mod:`~clipsketch.core.contour_strokes`; its line drawing is then the offline target too)."""

TARGETS = ("photo", "lines")
"""What a sketch can be compared with: the photo, or its line drawing (:mod:`~clipsketch.core.lines`)."""

LINE_LOOKS = ("uniform", "tapered", "weighted")
"""How strokes are drawn: one width end to end (CLIPasso's marker line), thin ends and a full middle, or tapered
with each stroke's width optimised with the loss (heavier lines where they matter)."""

TAPER = 0.25
"""Fraction of a tapered stroke's length, at each end, over which it thins to a point
(:func:`~clipsketch.core.strokes.width_profile`)."""

WEIGHT_RANGE = (0.4, 2.5)
"""The widths a ``weighted`` stroke may take, as multiples of the sketch's width."""

BACKBONES = ("auto", "clip", "offline")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16")
LOSS_MODEL = "RN101-quickgelu"
"""open_clip model of the loss (CLIPasso's ResNet)."""
SALIENCY_MODEL = "ViT-B-32-quickgelu"
"""open_clip model whose attention places the start strokes."""


class OptionError(ValueError):
    """A request field is malformed or out of its range; ``field`` names it, the message says how."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def default_width(canvas_size: int) -> float:
    """The default full stroke width in canvas pixels for a ``canvas_size`` pixel canvas: 3 px per 224."""
    return REFERENCE_WIDTH * canvas_size / DEFAULT_CANVAS_SIZE


def parse_color(text: str, field: str = "color", opacity: float = 1.0) -> Color:
    """A CSS color (``#1a2b3c``, ``red``, ``rgb(…)``) as RGBA 0..1 with ``opacity``; OptionError names ``field``."""
    from PIL import ImageColor  # pure Python; imported here so that importing the contract stays cheap

    try:
        red, green, blue = ImageColor.getrgb(text)[:3]
    except ValueError:
        raise OptionError(field, f"{field} {text!r} is not a CSS color") from None
    return (red / 255, green / 255, blue / 255, opacity)


def hex_color(rgb) -> str:
    """``#rrggbb`` for an RGB triple in 0..1."""
    return "#{:02x}{:02x}{:02x}".format(*(int(round(float(c) * 255)) for c in rgb))


def check_color(color: Color, field: str = "color") -> None:
    if len(color) != 4 or not all(0 <= c <= 1 for c in color):
        raise OptionError(field, f"{field} must be 4 values (RGBA) within 0..1")


@dataclass(frozen=True)
class LossConfig:
    """Weights of the five tapped layers (stem, then strides 4, 8, 16, 32), of the semantic term, and the
    augmentation: ``augmentations`` views per step besides the unaugmented one, perspective distortion, crop
    scale. Defaults are CLIPasso's (RN101: layer2 and layer3, semantic 0.1)."""

    layer_weights: tuple[float, float, float, float, float] = (0.0, 0.0, 1.0, 1.0, 0.0)
    semantic_weight: float = 0.1
    augmentations: int = 4
    perspective: float = 0.5
    crop_scale: float = 0.8

    def __post_init__(self) -> None:
        if len(self.layer_weights) != 5 or any(w < 0 for w in self.layer_weights):
            raise OptionError("loss", f"layer_weights must be 5 values >= 0, got {self.layer_weights}")
        if self.semantic_weight < 0 or self.augmentations < 0:
            raise OptionError("loss", "semantic_weight and augmentations must be >= 0")


@dataclass(frozen=True)
class LineStyle:
    """XDoG of the gray canvas for lines: ``D = G_σ * I - γ G_kσ * I`` (σ in canvas pixels at 224, scaled with
    the canvas), darkened by ``1 + tanh(φ (D - ε))`` where ``D < ε``."""

    sigma: float = 1.5
    k: float = 1.6
    gamma: float = 0.98
    phi: float = 100.0
    epsilon: float = -0.01
    blur: float = 1.5
    """σ (canvas pixels at 224) of the blur both the drawing and the sketch get before the backbone sees them
    (:class:`~clipsketch.core.backbones.BlurredTaps`): a stroke near a line already counts as on it."""
    outline: bool = True
    """Draw the outline of the subject's foreground mask too, when the photo has one (background removal on)."""


@dataclass(frozen=True)
class StartStrokes:
    """Strokes a sketch starts from, in the photo's pixels: ``points`` one ``(x0, y0, x1, y1, x2, y2, x3, y3)``
    per cubic stroke; ``widths`` full widths (photo pixels; None: the sketch's width); ``colors`` RGBA 0..1;
    ``locked`` strokes are drawn in every raster (they shape the loss) but never move. Tuples, so options stay
    hashable and printable in full. From an SVG: :func:`~clipsketch.core.svg.svg_to_start_strokes`."""

    points: tuple[tuple[float, ...], ...]
    widths: tuple[float | None, ...]
    colors: tuple[Color, ...]
    locked: tuple[bool, ...]

    def __post_init__(self) -> None:
        count = len(self.points)
        if not (len(self.widths) == len(self.colors) == len(self.locked) == count):
            raise OptionError("start", "start strokes need as many widths, colors and lock flags as strokes")
        for k, (control, width, color) in enumerate(zip(self.points, self.widths, self.colors)):
            if len(control) != 8 or not all(math.isfinite(v) for v in control):
                raise OptionError("start", f"start stroke {k}: needs 8 finite coordinates (x0 y0 … x3 y3), got "
                                           f"{control}")
            if width is not None and not (math.isfinite(width) and width > 0):
                raise OptionError("start", f"start stroke {k}: width must be a positive number of photo pixels, "
                                           f"got {width}")
            check_color(color, f"start stroke {k}: color")

    def __len__(self) -> int:
        return len(self.points)

    def check_within(self, photo_size: tuple[float, float]) -> None:
        """Refuse coordinates absurdly far from the photo (more than one photo size beyond any edge)."""
        width, height = photo_size
        for k, control in enumerate(self.points):
            xs, ys = control[0::2], control[1::2]
            if min(xs) < -width or max(xs) > 2 * width or min(ys) < -height or max(ys) > 2 * height:
                raise OptionError("start", f"start stroke {k} lies far outside the {width:g}×{height:g} photo: are "
                                           "its coordinates in the photo's pixels?")


@dataclass(frozen=True)
class SketchOptions:
    """What to draw, as asked. ``strokes``: one sketch per count; ``schedule`` how the loss is optimised (a name
    in :data:`~clipsketch.core.schedules.SCHEDULES`), whose ``iterations``, ``seeds`` (random starts per count,
    the lowest evaluation loss wins, numbered from ``seed``) and ``loss`` augmentations apply unless given here
    (None: the schedule's as it runs on the device, see :meth:`resolve`); ``mask``: background removal (None:
    when installed); ``width`` full stroke width in photo pixels (None: 3 px per 224 of the framed photo's side)
    and ``color`` RGBA 0..1; ``margin`` around the photo when it is padded to a square (fraction of its longer
    side); ``init`` where strokes start (:data:`INIT_MODES`; ``auto``: CLIPasso's own ``reference`` XDoG map on
    the CLIP path, HED's contours (``hed``) on the offline one, thin XDoG ``contour`` edges where HED's weights
    cannot be had); ``target`` what the sketch is compared with (:data:`TARGETS`; ``auto``: the photo on the CLIP
    path, its line drawing on the offline one, whose ImageNet features would otherwise ask for texture: drawn
    from HED's contours with ``hed``, by XDoG otherwise) and ``lines`` how the XDoG drawing is made; ``start``
    strokes to start from (and keep, when locked): each stroke count is the total, start strokes included.
    ``line`` how strokes are drawn (:data:`LINE_LOOKS`); ``one_line``: the sketch is one continuous path of that
    many cubic segments joined end to end; ``reseed``: strokes that collapse to dots or hide under others are
    placed afresh during the run (None: as the schedule does, :mod:`~clipsketch.core.reseed`)."""

    strokes: tuple[int, ...] = DEFAULT_STROKES
    schedule: str = DEFAULT_SCHEDULE
    iterations: int | None = None
    seeds: int | None = None
    seed: int = 0
    mask: bool | None = None
    width: float | None = None
    color: Color = DEFAULT_COLOR
    canvas_size: int = DEFAULT_CANVAS_SIZE
    margin: float = DEFAULT_MARGIN
    loss: LossConfig | None = None
    init: str = "auto"
    target: str = "auto"
    lines: LineStyle = field(default_factory=LineStyle)
    start: StartStrokes | None = None
    line: str = "uniform"
    one_line: bool = False
    reseed: bool | None = None

    def __post_init__(self) -> None:
        counts = tuple(int(n) for n in ((self.strokes,) if isinstance(self.strokes, int) else self.strokes))
        object.__setattr__(self, "strokes", counts)
        if self.schedule not in SCHEDULES:
            raise OptionError("schedule", f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if not counts:
            raise OptionError("strokes", "ask for at least one stroke count")
        for count in counts:
            if not 1 <= count <= ENGINE_MAX_STROKES:
                raise OptionError("strokes", f"stroke count must be between 1 and {ENGINE_MAX_STROKES}, got {count}")
        if len(set(counts)) != len(counts):
            raise OptionError("strokes", f"stroke counts repeat: {list(counts)}")
        if self.start is not None and min(counts) < len(self.start):
            raise OptionError("strokes", f"{min(counts)} strokes asked in all, but the start has {len(self.start)} "
                                         f"strokes: ask for at least {len(self.start)}")
        if self.iterations is not None and not 1 <= self.iterations <= ENGINE_MAX_ITERATIONS:
            raise OptionError("iterations", f"iterations must be between 1 and {ENGINE_MAX_ITERATIONS}, got "
                                            f"{self.iterations}")
        if self.seeds is not None and not 1 <= self.seeds <= ENGINE_MAX_SEEDS:
            raise OptionError("seeds", f"seeds must be between 1 and {ENGINE_MAX_SEEDS}, got {self.seeds}")
        if self.width is not None and not (math.isfinite(self.width) and self.width > 0):
            raise OptionError("width", f"stroke width must be a positive number of photo pixels, got {self.width}")
        check_color(self.color)
        if not 0 <= self.margin <= 1:
            raise OptionError("margin", f"margin must be within 0..1, got {self.margin}")
        if self.init not in ("auto", *INIT_MODES):
            raise OptionError("init", f"init must be one of auto, {', '.join(INIT_MODES)}, got {self.init!r}")
        if self.target not in ("auto", *TARGETS):
            raise OptionError("target", f"target must be one of auto, {', '.join(TARGETS)}, got {self.target!r}")
        if self.line not in LINE_LOOKS:
            raise OptionError("line", f"line must be one of {', '.join(LINE_LOOKS)}, got {self.line!r}")
        if self.one_line and self.start is not None:
            raise OptionError("one_line", "a one-line sketch cannot start from strokes: it is a single path drawn "
                                          "from scratch (sketch without start strokes, or without one-line)")
        if self.one_line and self.line != "uniform":
            raise OptionError("line", f"a one-line sketch is drawn as one uniform line; {self.line} lines taper "
                                      "every stroke, which would thin the line at each of its joints")

    def check_photo(self, photo_size: tuple[int, int]) -> None:
        """What depends on the photo's size ``(width, height)`` in pixels: the width at most a quarter of its
        longer side, start strokes near it."""
        longest = max(photo_size)
        if self.width is not None and self.width > longest / 4:
            raise OptionError("width", f"stroke width must be > 0 and at most {longest / 4:g} photo pixels (a "
                                       f"quarter of the photo's longer side), got {self.width}")
        if self.start is not None:
            self.start.check_within(photo_size)
            for k, width in enumerate(self.start.widths):
                if width is not None and width > longest / 4:
                    raise OptionError("start", f"start stroke {k}: width must be at most {longest / 4:g} photo "
                                               f"pixels (a quarter of the photo's longer side), got {width}")

    def resolve(self, device_type: str) -> SketchPlan:
        """The plan a ``device_type`` device (``"cpu"``, ``"cuda"``, …) runs: the schedule as it runs there,
        iterations, seeds and loss filled in (the one place a schedule is resolved)."""
        schedule = schedule_named(self.schedule, device_type)
        iterations = self.iterations or schedule.iterations
        seeds = self.seeds or schedule.seeds
        loss = self.loss or LossConfig(augmentations=schedule.augmentations)
        reseed = (schedule.reseed_at != ()) if self.reseed is None else self.reseed
        optimizer = schedule.optimizer(iterations, seeds, reseed and not self.one_line)
        return SketchPlan(replace(self, iterations=iterations, seeds=seeds, loss=loss, reseed=reseed), device_type,
                          optimizer, schedule.view_bank)


@dataclass(frozen=True)
class SketchPlan:
    """:class:`SketchOptions` resolved for one device: ``options`` with ``iterations``, ``seeds`` and ``loss``
    filled in, the ``optimizer`` settings each stroke count runs (before its bounds and locked strokes), the
    ``view_bank`` draws (None: augmentations drawn afresh every step), and the ``photo_size`` ``(width, height)``
    it was checked against (:meth:`for_photo`; None: not yet)."""

    options: SketchOptions
    device_type: str
    optimizer: OptimizerConfig
    view_bank: int | None
    photo_size: tuple[int, int] | None = None

    def for_photo(self, photo_size: tuple[int, int]) -> SketchPlan:
        """This plan checked against a photo of ``photo_size`` pixels (:meth:`SketchOptions.check_photo`)."""
        self.options.check_photo(photo_size)
        return replace(self, photo_size=tuple(photo_size))

    @property
    def taper(self) -> float:
        """The strokes' taper (:func:`~clipsketch.core.strokes.width_profile`): 0 for uniform lines."""
        return 0.0 if self.options.line == "uniform" else TAPER

    @property
    def seed_numbers(self) -> list[int]:
        """The seeds every stroke count starts from, ``seed`` onwards."""
        return [self.options.seed + k for k in range(self.options.seeds)]
