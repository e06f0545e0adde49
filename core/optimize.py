"""The optimisation loop: the seeds of one stroke count as one batch, Adam on the control points (pixels).

Every step rasterises the ``K`` sketches, draws paired augmentations, runs the frozen backbone on the ``K × V``
sketch views (with gradients) and on the ``V - 1`` augmented photo views (without; the unaugmented photo's taps
are computed once and shared; on a GPU both passes replay CUDA graphs, :mod:`.cuda_graphs`), and steps Adam at
the step's learning rate; steps before ``augment_from`` take the unaugmented views alone. Every ``eval_every``
iterations the unaugmented loss of each seed is evaluated (in fp32) and the best strokes per seed are kept; a seed
whose loss has converged leaves the batch (CLIPasso's early stop, per seed), and with ``narrow_after`` only the
best seed goes on past that step. With a view bank (:mod:`.view_bank`) the augmentations are replayed from draws
made once per photo, whose photo taps are banked. It yields a :class:`Step` after every iteration, checks
``cancel`` (abort) and ``finish`` (keep the best so far) between steps, and returns the :class:`SeedTracker` (the
generator's return value).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import torch
from torch import nn

from clipsketch.core.backbones import Taps
from clipsketch.core.cuda_graphs import StepPasses
from clipsketch.core.losses import LossConfig, LossTerms, augment_pairs, paired_augmentation, sketch_loss
from clipsketch.core.raster import rasterize_strokes
from clipsketch.core.strokes import Strokes
from clipsketch.core.view_bank import ViewBank, seeded_draws


class SketchCancelled(Exception):
    """The caller cancelled the sketch between two steps."""


@dataclass(frozen=True)
class OptimizerConfig:
    """Adam on the control points (pixels) for at most ``iterations`` steps. The learning rate rises linearly
    over ``warmup`` steps to ``learning_rate`` and then stays there (``final_learning_rate`` None, CLIPasso's) or
    follows a cosine down to ``final_learning_rate`` at the last step. Every ``eval_every`` steps each seed's
    unaugmented loss is evaluated; a seed stops on its own after ``patience`` evaluations within ``tolerance`` of
    its best since its last improvement (CLIPasso's rule, per seed; see :meth:`SeedTracker.record`). ``narrow_after``: from that step on only
    the seed with the lowest evaluation loss goes on (None: all go on). ``seeds_per_pass`` bounds the memory of a
    step."""

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


@dataclass
class Step:
    """One iteration of one stroke count: loss terms are means over the seeds still running (``total`` is what
    was optimised); ``evaluation`` is the best seed's best unaugmented loss so far, ``best`` its strokes (batch of
    one); ``running`` how many seeds were optimised in this step."""

    iteration: int
    iterations: int
    geometric: float
    semantic: float
    total: float
    evaluation: float
    best_seed: int
    best: Strokes
    running: int = 1
    finished: bool = False


@dataclass
class SeedTracker:
    """Best strokes, evaluation history and early-stop counters per seed (``K`` seeds), and the step each seed
    stopped at (``stopped``: -1 while it runs). ``best_loss``/``best_points``: the lowest evaluation and its
    strokes; ``anchor_loss``: the loss at the last improvement by more than the tolerance (what the stop rule
    measures against)."""

    best_loss: torch.Tensor
    best_points: torch.Tensor
    anchor_loss: torch.Tensor
    stalls: torch.Tensor
    history: list[list[tuple[int, float]]] = field(default_factory=list)
    stopped: list[int] = field(default_factory=list)

    @classmethod
    def start(cls, points: torch.Tensor) -> SeedTracker:
        count = points.shape[0]
        infinite = torch.full((count,), float("inf"))
        return cls(infinite.clone(), points.detach().clone(), infinite.clone(), torch.zeros(count, dtype=torch.long),
                   [[] for _ in range(count)], [-1] * count)

    def record(self, iteration: int, seeds: torch.Tensor, loss: torch.Tensor, points: torch.Tensor,
               config: OptimizerConfig) -> torch.Tensor:
        """Record evaluation losses ``[k]`` of the seeds numbered ``seeds [k]`` for their ``points [k, N, 4, 2]``;
        returns which of them have stalled ``patience`` times (``[k]`` bool). CLIPasso's rule: an evaluation more
        than ``tolerance`` below the anchor is an improvement (new anchor, stall count reset); one within
        ``tolerance`` of the anchor is a stall; a worse one changes neither. The best strokes are those of the
        lowest evaluation, however small its gain."""
        loss, seeds = loss.detach().float().cpu(), seeds.cpu()
        change = loss - self.anchor_loss[seeds]
        stalled = change.abs() <= config.tolerance
        improved = (change < 0) & ~stalled
        self.stalls[seeds] = torch.where(improved, 0, self.stalls[seeds] + stalled.long())
        self.anchor_loss[seeds] = torch.where(improved, loss, self.anchor_loss[seeds])
        lower = loss < self.best_loss[seeds]
        self.best_points[seeds[lower]] = points.detach()[lower.to(points.device)].to(self.best_points.device)
        self.best_loss[seeds] = torch.where(lower, loss, self.best_loss[seeds])
        for seed, value in zip(seeds.tolist(), loss.tolist()):
            self.history[seed].append((iteration, value))
        return self.stalls[seeds] >= config.patience

    @property
    def winner(self) -> int:
        return int(torch.argmin(self.best_loss))


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
    evaluation_taps: Taps | None = None,
    finish: Callable[[], bool] = lambda: False,
    cuda_graphs: bool = True,
    view_bank: ViewBank | None = None,
) -> Generator[Step, None, SeedTracker]:
    """Optimise ``start`` (``K`` seeds × ``N`` strokes) towards ``photo [1, 3, S, S]`` whose unaugmented taps
    are ``photo_taps``. Yields a :class:`Step` per iteration; returns the :class:`SeedTracker` (best strokes and
    losses per seed), e.g. ``tracker = yield from optimize_strokes(...)``.

    ``evaluation_taps``: the photo's taps in fp32; given, the evaluation loss is computed by an fp32 pass of the
    unaugmented sketches (None: taken from the training pass, right when that runs in fp32). ``finish()`` true
    between two steps ends the optimisation with the best strokes so far (a result, not an error).
    ``cuda_graphs``: on a CUDA device, replay the backbone's passes from CUDA graphs (:mod:`.cuda_graphs`).
    ``view_bank``: augmentations drawn in advance with the photo's taps (:mod:`.view_bank`); each step replays one
    of its draws, in an order shuffled by ``augmentation_seed``, instead of drawing afresh.

    Raises:
        SketchCancelled: ``cancel()`` returned True between two steps.
    """
    seeds_total = start.batch_size
    running = torch.arange(seeds_total)  # the seeds still optimised, as rows of ``points``
    frozen = None
    if config.frozen is not None and any(config.frozen):
        if len(config.frozen) != start.num_strokes:
            raise ValueError(f"frozen has {len(config.frozen)} flags for {start.num_strokes} strokes")
        frozen = torch.tensor(config.frozen, device=start.points.device)
        kept = start.points.detach()[:1, frozen].clone()
    points = _parameter(start.points, frozen)
    widths, colors = start.widths.detach(), start.colors.detach()
    optimizer = torch.optim.Adam([points], lr=config.rate(0))
    augmentation = paired_augmentation(loss_config, start.canvas_size)
    tracker = SeedTracker.start(start.points.detach().cpu())
    passes = StepPasses(backbone, loss_config, autocast, cuda_graphs)
    views = loss_config.augmentations + 1
    generator = torch.Generator().manual_seed(augmentation_seed)
    generator_state = generator.get_state()
    if view_bank is not None:
        if view_bank.views != views - 1:
            raise ValueError(f"the view bank holds {view_bank.views} augmented views a draw, the loss asks for "
                             f"{views - 1}")
        rounds = -(-config.iterations // len(view_bank))
        bank_order = torch.cat([torch.randperm(len(view_bank), generator=generator) for _ in range(rounds)]).tolist()
    for iteration in range(config.iterations):
        if cancel():
            raise SketchCancelled()
        strokes = Strokes(points, widths[running.to(widths.device)], colors[running.to(colors.device)],
                          start.canvas_size)
        sketches = rasterize_strokes(strokes).rgb
        if iteration < config.augment_from or views == 1:
            step_views, sketch_views, augmented = 1, sketches[:, None], None
        elif view_bank is None:
            with seeded_draws(generator_state) as current:
                photo_views, sketch_views = augment_pairs(photo, sketches, augmentation, views - 1)
                generator_state = current()
            step_views, augmented = views, passes.photo_taps(photo_views[1:])
        else:  # the sketches get the parameters the banked photo views were made with
            draw = bank_order[iteration]
            with seeded_draws(view_bank.states[draw]):
                _, sketch_views = augment_pairs(photo, sketches, augmentation, views - 1)
            step_views, augmented = views, view_bank.photo_taps(draw)
        photo_all = _join_taps(photo_taps, augmented)
        optimizer.zero_grad(set_to_none=True)
        # Seeds are independent (each loss depends on its own strokes only), so the backbone can take them a
        # few at a time: gradients add up in the points, and only one group's activations are held at once.
        chunks = []
        count = len(running)
        group = config.seeds_per_pass or count
        for first in range(0, count, group):
            chunk = sketch_views[first : first + group]
            chunks.append(passes.loss(chunk.reshape(chunk.shape[0] * step_views, *chunk.shape[2:]), photo_all,
                                      chunk.shape[0]))
            chunks[-1].total.sum().backward(retain_graph=first + group < count)
        terms = LossTerms(*(torch.cat([getattr(c, name).detach() for c in chunks]) for name in
                            ("geometric", "semantic", "total", "evaluation")))

        last = iteration == config.iterations - 1
        done = last or finish()
        stop = torch.zeros(count, dtype=torch.bool)
        if iteration % config.eval_every == 0 or done:
            evaluation = terms.evaluation
            if evaluation_taps is not None:
                evaluation = _evaluate(sketch_views[:, 0], evaluation_taps, backbone, loss_config)
            stop = tracker.record(iteration, running, evaluation, points, config)
            if config.narrow_after is not None and iteration >= config.narrow_after and count > 1:
                best = int(torch.argmin(tracker.best_loss[running]))
                stop = torch.ones(count, dtype=torch.bool)
                stop[best] = bool(tracker.stalls[running[best]] >= config.patience)
            for seed in running[stop].tolist():
                tracker.stopped[seed] = iteration + 1
            done = done or bool(stop.all())
        winner = tracker.winner
        yield Step(
            iteration=iteration + 1,
            iterations=config.iterations,
            geometric=float(terms.geometric.mean()),
            semantic=float(terms.semantic.mean()),
            total=float(terms.total.mean()),
            evaluation=float(tracker.best_loss[winner]),
            best_seed=winner,
            best=Strokes(tracker.best_points[winner : winner + 1].clone(), widths[:1].cpu(), colors[:1].cpu(),
                         start.canvas_size),
            running=count,
            finished=done,
        )
        if done:
            break
        optimizer.step()
        with torch.no_grad():
            if config.bounds is not None:
                clamp_points(points, config.bounds)
            if frozen is not None:
                points[:, frozen] = kept  # exactly where they were, projection or not
        if stop.any():  # the stopped seeds leave the batch; the others keep their Adam moments
            points, optimizer = _keep_rows(points, optimizer, ~stop, frozen)
            running = running[~stop]
        for group_settings in optimizer.param_groups:
            group_settings["lr"] = config.rate(iteration + 1)
    for seed in running.tolist():
        if tracker.stopped[seed] < 0:
            tracker.stopped[seed] = iteration + 1
    return tracker


def _parameter(points: torch.Tensor, frozen: torch.Tensor | None) -> torch.Tensor:
    """A fresh leaf copy of ``points [K, N, 4, 2]``; the gradient of ``frozen`` strokes is zeroed, so Adam never
    moves them (its moments stay 0)."""
    parameter = points.detach().clone().requires_grad_(True)
    if frozen is not None:
        moving = (~frozen).to(points.dtype)[None, :, None, None]
        parameter.register_hook(lambda grad: grad * moving)
    return parameter


def _keep_rows(points: torch.Tensor, optimizer: torch.optim.Adam, keep: torch.Tensor,
               frozen: torch.Tensor | None) -> tuple[torch.Tensor, torch.optim.Adam]:
    """The rows (seeds) ``keep [K]`` of ``points`` as a new parameter with its Adam state carried over."""
    rows = keep.to(points.device)
    kept = _parameter(points[rows], frozen)
    state = optimizer.state[points]
    settings = {key: value for key, value in optimizer.param_groups[0].items() if key != "params"}
    narrowed = torch.optim.Adam([kept], **settings)
    if state:
        narrowed.state[kept] = {key: value[rows] if key != "step" else value for key, value in state.items()}
    return kept, narrowed


def _evaluate(sketches: torch.Tensor, photo_taps: Taps, backbone: nn.Module, loss_config: LossConfig) -> torch.Tensor:
    """The unaugmented loss ``[K]`` of ``sketches [K, 3, S, S]`` against the photo's fp32 taps, in fp32."""
    with torch.no_grad():
        taps = backbone(sketches.detach().float())
        return sketch_loss(taps, photo_taps, sketches.shape[0], loss_config).evaluation


def clamp_points(points: torch.Tensor, bounds: tuple[float, float, float, float]) -> torch.Tensor:
    """Project control points ``[..., 2]`` (pixels) into ``bounds = (left, top, right, bottom)``, in place."""
    left, top, right, bottom = bounds
    points[..., 0].clamp_(left, right)
    points[..., 1].clamp_(top, bottom)
    return points


def _join_taps(unaugmented: Taps, augmented: Taps | None) -> Taps:
    """The photo's taps of all views: the unaugmented view's, then the augmented ones'. A layer a view bank left
    empty (one the loss does not weigh) keeps the unaugmented view's alone; the loss never reads it."""
    if augmented is None:
        return unaugmented
    layers = [torch.cat([a, b.to(a.dtype)], dim=0) if b.numel() else a
              for a, b in zip(unaugmented.layers, augmented.layers)]
    return Taps(layers, torch.cat([unaugmented.embedding, augmented.embedding.to(unaugmented.embedding.dtype)]))
