"""The optimisation loop: the seeds of one stroke count as one batch, Adam on the control points (pixels).

Every step rasterises the ``K`` sketches, draws paired augmentations, runs the frozen backbone on the ``K × V``
sketch views (with gradients) and on the ``V - 1`` augmented photo views (without; the unaugmented photo's taps
are computed once and shared), and steps Adam. Every ``eval_every`` iterations the unaugmented loss of each seed
is recorded and the best strokes per seed are kept; the loop stops early once every seed's evaluation loss has
changed by at most ``tolerance`` twice without improving. It yields a :class:`Step` after every iteration and
checks ``cancel`` between steps, and returns the :class:`SeedTracker` (the generator's return value).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import torch
from torch import nn

from clipsketch.core.backbones import Taps
from clipsketch.core.losses import LossConfig, LossTerms, augment_pairs, paired_augmentation, sketch_loss
from clipsketch.core.raster import rasterize_strokes
from clipsketch.core.strokes import Strokes


class SketchCancelled(Exception):
    """The caller cancelled the sketch between two steps."""


_GLOBAL_RNG = threading.Lock()
"""kornia draws augmentation parameters from torch's global generator: each sketch swaps in its own generator
state for a draw, under this lock, so sketches running at once in threads neither see nor move each other's
draws (and their results equal those of a run alone)."""


@dataclass(frozen=True)
class OptimizerConfig:
    """Adam at ``learning_rate`` pixels on the control points for ``iterations`` steps; evaluation every
    ``eval_every`` steps; early stop after ``patience`` evaluations that change by at most ``tolerance`` without
    improving (CLIPasso's defaults); ``seeds_per_pass`` bounds the memory of a step."""

    iterations: int = 2000
    learning_rate: float = 1.0
    eval_every: int = 10
    tolerance: float = 1e-5
    patience: int = 2
    seeds_per_pass: int | None = None
    """Seeds per backbone pass (None: all); fewer hold less memory at the same results."""
    bounds: tuple[float, float, float, float] | None = None
    """``(left, top, right, bottom)`` canvas pixels that hold every free control point (the photo inside its frame):
    points are projected into it after every step, so each Bézier stays inside (convex hull). None: no bound."""
    frozen: tuple[bool, ...] | None = None
    """Per stroke: True keeps it exactly where it starts (no gradient, no step, no projection). None: all move."""

    def __post_init__(self) -> None:
        if self.iterations <= 0:
            raise ValueError(f"iterations must be > 0, got {self.iterations}")
        if not self.learning_rate > 0 or self.eval_every <= 0:
            raise ValueError("learning_rate and eval_every must be > 0")


@dataclass
class Step:
    """One iteration of one stroke count: loss terms are means over the seeds (``total`` is what was optimised);
    ``evaluation`` is the best seed's latest unaugmented loss, ``best`` its best strokes so far (batch of one)."""

    iteration: int
    iterations: int
    geometric: float
    semantic: float
    total: float
    evaluation: float
    best_seed: int
    best: Strokes
    finished: bool = False


@dataclass
class SeedTracker:
    """Best strokes and evaluation history per seed, and the early-stop counters."""

    best_loss: torch.Tensor
    best_points: torch.Tensor
    last_loss: torch.Tensor
    stalls: torch.Tensor
    history: list[list[tuple[int, float]]] = field(default_factory=list)

    @classmethod
    def start(cls, points: torch.Tensor) -> SeedTracker:
        count = points.shape[0]
        infinite = torch.full((count,), float("inf"))
        return cls(infinite.clone(), points.detach().clone(), infinite.clone(), torch.zeros(count, dtype=torch.long),
                   [[] for _ in range(count)])

    def record(self, iteration: int, loss: torch.Tensor, points: torch.Tensor, config: OptimizerConfig) -> bool:
        """Record evaluation losses ``[K]`` for ``points [K, N, 4, 2]``; True once every seed has stalled."""
        loss = loss.detach().float().cpu()
        improved = loss < self.best_loss
        unchanged = (loss - self.last_loss).abs() <= config.tolerance
        self.stalls = torch.where(~improved & unchanged, self.stalls + 1, self.stalls)
        self.best_points[improved] = points.detach()[improved.to(points.device)].to(self.best_points.device)
        self.best_loss = torch.where(improved, loss, self.best_loss)
        self.last_loss = loss
        for seed, value in enumerate(loss.tolist()):
            self.history[seed].append((iteration, value))
        return bool((self.stalls >= config.patience).all())


def optimize_strokes(
    start: Strokes,
    photo: torch.Tensor,
    photo_taps: Taps,
    backbone: nn.Module,
    loss_config: LossConfig,
    config: OptimizerConfig,
    autocast: Callable[[], contextlib.AbstractContextManager],
    cancel: Callable[[], bool] = lambda: False,
    augmentation_seed: int = 0,
) -> Generator[Step, None, SeedTracker]:
    """Optimise ``start`` (``K`` seeds × ``N`` strokes) towards ``photo [1, 3, S, S]`` whose unaugmented taps
    are ``photo_taps``. Yields a :class:`Step` per iteration; returns the :class:`SeedTracker` (best strokes and
    losses per seed), e.g. ``tracker = yield from optimize_strokes(...)``.

    Raises:
        SketchCancelled: ``cancel()`` returned True between two steps.
    """
    strokes = start.requires_grad_(points=True)
    frozen = None
    if config.frozen is not None and any(config.frozen):
        if len(config.frozen) != strokes.num_strokes:
            raise ValueError(f"frozen has {len(config.frozen)} flags for {strokes.num_strokes} strokes")
        frozen = torch.tensor(config.frozen, device=strokes.points.device)
        kept = strokes.points.detach()[:, frozen].clone()
        moving = (~frozen).to(strokes.points.dtype)[None, :, None, None]
        strokes.points.register_hook(lambda grad: grad * moving)  # Adam then never moves them (its moments stay 0)
    optimizer = torch.optim.Adam([strokes.points], lr=config.learning_rate)
    augmentation = paired_augmentation(loss_config, strokes.canvas_size)
    tracker = SeedTracker.start(strokes.points.detach().cpu())
    seeds, views = strokes.batch_size, loss_config.augmentations + 1
    generator_state = torch.Generator().manual_seed(augmentation_seed).get_state()
    for iteration in range(config.iterations):
        if cancel():
            raise SketchCancelled()
        sketches = rasterize_strokes(strokes).rgb
        with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):  # seeded draws; the caller's RNG untouched
            torch.set_rng_state(generator_state)
            photo_views, sketch_views = augment_pairs(photo, sketches, augmentation, views - 1)
            generator_state = torch.get_rng_state()
        with autocast(), torch.no_grad():
            augmented = backbone(photo_views[1:]) if views > 1 else None
        photo_all = _join_taps(photo_taps, augmented)
        optimizer.zero_grad(set_to_none=True)
        # Seeds are independent (each loss depends on its own strokes only), so the backbone can take them a
        # few at a time: gradients add up in the points, and only one group's activations are held at once.
        chunks = []
        group = config.seeds_per_pass or seeds
        for first in range(0, seeds, group):
            chunk = sketch_views[first : first + group]
            with autocast():
                taps = backbone(chunk.reshape(chunk.shape[0] * views, *chunk.shape[2:]))
            chunks.append(sketch_loss(taps, photo_all, chunk.shape[0], loss_config))
            chunks[-1].total.sum().backward(retain_graph=first + group < seeds)
        terms = LossTerms(*(torch.cat([getattr(c, name).detach() for c in chunks]) for name in
                            ("geometric", "semantic", "total", "evaluation")))

        finished = iteration == config.iterations - 1
        if iteration % config.eval_every == 0 or finished:
            stalled = tracker.record(iteration, terms.evaluation, strokes.points, config)
            finished = finished or stalled
        best_seed = int(torch.argmin(tracker.best_loss))
        best_points = tracker.best_points[best_seed : best_seed + 1].clone()
        yield Step(
            iteration=iteration + 1,
            iterations=config.iterations,
            geometric=float(terms.geometric.detach().mean()),
            semantic=float(terms.semantic.detach().mean()),
            total=float(terms.total.detach().mean()),
            evaluation=float(tracker.best_loss[best_seed]),
            best_seed=best_seed,
            best=Strokes(best_points, strokes.widths.detach()[:1].cpu(), strokes.colors.detach()[:1].cpu(),
                         strokes.canvas_size),
            finished=finished,
        )
        if finished:
            break
        optimizer.step()
        with torch.no_grad():
            if config.bounds is not None:
                clamp_points(strokes.points, config.bounds)
            if frozen is not None:
                strokes.points[:, frozen] = kept  # exactly where they were, projection or not
    return tracker


def clamp_points(points: torch.Tensor, bounds: tuple[float, float, float, float]) -> torch.Tensor:
    """Project control points ``[..., 2]`` (pixels) into ``bounds = (left, top, right, bottom)``, in place."""
    left, top, right, bottom = bounds
    points[..., 0].clamp_(left, right)
    points[..., 1].clamp_(top, bottom)
    return points


def _join_taps(unaugmented: Taps, augmented: Taps | None) -> Taps:
    if augmented is None:
        return unaugmented
    layers = [torch.cat([a, b.to(a.dtype)], dim=0) for a, b in zip(unaugmented.layers, augmented.layers)]
    return Taps(layers, torch.cat([unaugmented.embedding, augmented.embedding.to(unaugmented.embedding.dtype)]))
