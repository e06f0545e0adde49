"""Named optimisation schedules: how many steps, seeds and augmented views a sketch gets, and its learning rate,
and the :class:`OptimizerConfig` a schedule comes to for one run (no torch: cheap to import).

- ``reference``: CLIPasso's schedule exactly: Adam at a constant 1.0 pixel, 2000 steps, 3 seeds each stopping
  on its own when its evaluation loss has converged (two evaluations within 1e-5 of its best since it last
  improved), 4 augmented views per step, the best seed kept.
- ``fast`` (the default): close to the reference's loss in a fraction of its time (the README's measured table):
  fewer augmented views, a short warm-up and a cosine decay of the learning rate, and successive halving of the
  seeds (all start, comparing the unaugmented views alone, which costs a third of a step with one augmented view;
  after ``narrow_at`` of the steps only the best goes on, with its augmented view), and augmentations drawn from a bank
  of ``view_bank`` draws made once per photo (the photo's views then cost one backbone pass each, not one a
  step: :mod:`~clipsketch.core.view_bank`). A seed stops early only when its
  loss does not change at all (strokes that left the canvas): the decaying rate ends the run, and an absolute
  tolerance means nothing across backbones whose losses differ by orders of magnitude.
  On a CUDA GPU, where a step costs about the same for three seeds as for one (the step is bound by kernel
  launches, not by arithmetic), no seed is dropped: all three run 450 steps (the first 45 on the unaugmented views
  alone) and the best is kept; on a CPU, where each seed costs its own backbone passes, 300 steps with
  successive halving keep the time within the CPU's budget. See the README's measured table for both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class OptimizerConfig:
    """Adam on the control points (pixels) for at most ``iterations`` steps. The learning rate rises linearly
    over ``warmup`` steps to ``learning_rate`` and then stays there (``final_learning_rate`` None, CLIPasso's) or
    follows a cosine down to ``final_learning_rate`` at the last step. Every ``eval_every`` steps each seed's
    unaugmented loss is evaluated; a seed stops on its own after ``patience`` evaluations within ``tolerance`` of
    its best since its last improvement (CLIPasso's rule, per seed; see
    :meth:`~clipsketch.core.optimize.SeedTracker.record`). ``narrow_after``: from that step on only the seed with
    the lowest evaluation loss goes on (None: all go on). ``seeds_per_pass`` bounds the memory of a step."""

    iterations: int = 2000
    learning_rate: float = 1.0
    final_learning_rate: float | None = None
    warmup: int = 0
    eval_every: int = 10
    tolerance: float = 1e-5
    patience: int = 2
    narrow_after: int | None = None
    augment_from: int = 0
    """Steps before this one compare the unaugmented views alone (a third of the backbone's work with one augmented
    view); from it on, every step adds the loss's augmented views."""
    seeds_per_pass: int | None = None
    """Seeds per backbone pass (None: all); fewer hold less memory at the same results."""
    bounds: tuple[float, float, float, float] | None = None
    """``(left, top, right, bottom)`` canvas pixels that hold every free control point (the photo inside its frame):
    points are projected into it after every step, so each Bézier stays inside (convex hull). None: no bound."""
    frozen: tuple[bool, ...] | None = None
    """Per stroke: True keeps it exactly where it starts (no gradient, no step, no projection). None: all move."""
    reseed_after: tuple[int, ...] = ()
    """After these steps, strokes that collapsed or hide under others are placed afresh
    (:mod:`~clipsketch.core.reseed`; a bounded number of times, early enough to converge); with any, no free stroke
    is let shorter than :data:`~clipsketch.core.reseed.SHORTEST` of the canvas (times ``zoom``) either."""
    zoom: float = 1.0
    """How many times the canvas is enlarged beyond the whole photo's square (a window around a small subject,
    :func:`~clipsketch.core.sketch.canvas_frame`): the shortest stroke is as long on the photo as without it."""
    width_range: tuple[float, float] | None = None
    """Canvas pixels each stroke's width may take when widths are optimised with the points (``weighted`` lines;
    None: widths stay as they start)."""
    joined: bool = False
    """The strokes are one continuous line: each one starts where the one before it ends, and stays so (the
    shared points are one parameter)."""

    def __post_init__(self) -> None:
        if self.iterations <= 0:
            raise ValueError(f"iterations must be > 0, got {self.iterations}")
        if not self.learning_rate > 0 or self.eval_every <= 0:
            raise ValueError("learning_rate and eval_every must be > 0")
        if self.final_learning_rate is not None and not 0 <= self.final_learning_rate <= self.learning_rate:
            raise ValueError("final_learning_rate must be within 0..learning_rate")
        if self.warmup < 0 or self.augment_from < 0 or (self.narrow_after is not None and self.narrow_after < 0):
            raise ValueError("warmup, augment_from and narrow_after must be >= 0")

    def rate(self, step: int) -> float:
        """The learning rate (pixels) of step ``step`` (0-based)."""
        if step < self.warmup:
            return self.learning_rate * (step + 1) / (self.warmup + 1)
        if self.final_learning_rate is None:
            return self.learning_rate
        progress = (step - self.warmup) / max(1, self.iterations - 1 - self.warmup)
        cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
        return self.final_learning_rate + (self.learning_rate - self.final_learning_rate) * cosine


@dataclass(frozen=True)
class Schedule:
    """``iterations`` steps and ``seeds`` random starts per stroke count; Adam's ``learning_rate`` (pixels),
    constant (``final_learning_rate`` None) or cosine-decayed to ``final_learning_rate`` after ``warmup`` steps;
    ``narrow_at`` fraction of the steps after which only the best seed goes on (None: all seeds run to the end);
    ``augmentations`` augmented views per step besides the unaugmented one, drawn afresh every step
    (``view_bank`` None) or from that many draws made once per photo; a seed stops early after two evaluations
    within ``tolerance`` of its best since it last improved; where several seeds start, the steps before
    ``augment_at`` of them compare the unaugmented views alone (a single seed gets its augmented views from the
    first step)."""

    name: str
    iterations: int
    seeds: int
    learning_rate: float
    final_learning_rate: float | None
    warmup: int
    narrow_at: float | None
    augmentations: int
    tolerance: float
    view_bank: int | None = None
    augment_at: float = 0.0
    reseed_at: tuple[float, ...] = ()
    """Fractions of the steps after which collapsed strokes are placed afresh (empty: never, as in CLIPasso)."""
    on_cuda: Schedule | None = None
    """The settings that replace these on a CUDA GPU (None: the same everywhere)."""

    def for_device(self, device_type: str) -> Schedule:
        """The settings a run on a ``device_type`` device (``"cpu"``, ``"cuda"``, …) uses."""
        return self.on_cuda if device_type == "cuda" and self.on_cuda is not None else self

    def optimizer(self, iterations: int, seeds: int, reseed: bool) -> OptimizerConfig:
        """The optimizer's settings for a run of ``iterations`` steps from ``seeds`` random starts: the step after
        which only the best seed goes on, the first step that adds the augmented views (at once for a single
        seed: there is none to choose between), and the steps after which collapsed strokes are placed afresh
        (``reseed``: at ``reseed_at``, or at the fast schedule's when this schedule has none)."""
        fractions = (self.reseed_at or RESEED_AT) if reseed else ()
        return OptimizerConfig(iterations=iterations, learning_rate=self.learning_rate,
                               final_learning_rate=self.final_learning_rate, warmup=self.warmup,
                               narrow_after=None if self.narrow_at is None else int(self.narrow_at * iterations),
                               augment_from=int(self.augment_at * iterations) if seeds > 1 else 0,
                               tolerance=self.tolerance,
                               reseed_after=tuple(sorted({int(f * iterations) for f in fractions} - {0})))


RESEED_AT = (0.1, 0.25, 0.4, 0.55, 0.7)
"""When the fast schedule places collapsed strokes afresh: five times, the last with 30 % of the run to go."""

_FAST_ON_CPU = Schedule("fast", iterations=300, seeds=3, learning_rate=4.0, final_learning_rate=0.05, warmup=10,
                       narrow_at=0.15, augmentations=1, tolerance=0.0, view_bank=32, augment_at=0.15,
                       reseed_at=RESEED_AT)
SCHEDULES = {
    "reference": Schedule("reference", iterations=2000, seeds=3, learning_rate=1.0, final_learning_rate=None,
                          warmup=0, narrow_at=None, augmentations=4, tolerance=1e-5),
    "fast": replace(_FAST_ON_CPU, on_cuda=replace(_FAST_ON_CPU, iterations=450, narrow_at=None, augment_at=0.1)),
}
DEFAULT_SCHEDULE = "fast"


def schedule_named(name: str, device_type: str = "cpu") -> Schedule:
    """The schedule called ``name``, as it runs on a ``device_type`` device; ValueError naming the choices
    otherwise."""
    try:
        return SCHEDULES[name].for_device(device_type)
    except KeyError:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {name!r}") from None
