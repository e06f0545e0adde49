"""The optimisation loop: the seeds of one stroke count as one batch, Adam on the control points (pixels).

Its inputs come in three groups: the start strokes, the :class:`Target` (what is matched: the photo, its taps,
the backbone, the loss, the view bank), the :class:`OptimizerConfig` (the numbers a schedule comes to) and the
:class:`Controls` (how it is steered from outside: precision, cancel, finish, CUDA graphs). Its parts: the step's
views (:class:`_StepViews`), loss and gradients (:func:`~clipsketch.core.batched_step.run_steps`), the stop rule
(:meth:`SeedTracker.record`) and seed pruning (:func:`_seeds_to_stop`).

Every step rasterises the ``K`` sketches, draws paired augmentations, runs the frozen backbone on the ``K × V``
sketch views (with gradients) and on the ``V - 1`` augmented photo views (without; the unaugmented photo's taps are
computed once and shared; on a GPU both passes replay CUDA graphs, :mod:`.cuda_graphs`), and steps Adam at the
step's learning rate; steps before ``augment_from`` take the unaugmented views alone (with ``Target.apart``, strokes
also pay for lying on each other's lines: :func:`_kept_apart`). Every ``eval_every`` iterations the unaugmented loss
of each seed is evaluated (in fp32) and the best strokes per seed are kept; a seed whose loss has converged leaves
the batch (CLIPasso's early stop, per seed), and with ``narrow_after`` only the best seed goes on past that step.
With a view bank (:mod:`.view_bank`) the augmentations are replayed from draws made once per photo, whose photo taps
are banked. With ``controls.batch``, the step's forward and backward (:mod:`.batched_step`) is shared with the other
runs of that :mod:`.step_batch` (other jobs on the device). It yields a :class:`Step` after every iteration, checks
``cancel`` (abort) and ``finish`` (keep the best so far) between steps, and returns the :class:`SeedTracker` (the
generator's return value).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import torch
from torch import nn

from clipsketch.core.backbones import Taps
from clipsketch.core.batched_step import StepWork, ViewDraw, join_taps, run_steps
from clipsketch.core.cuda_graphs import StepPasses
from clipsketch.core.losses import LossTerms, augment_pairs, paired_augmentation, sketch_loss
from clipsketch.core.options import LossConfig
from clipsketch.core.reseed import SHORTEST, collapsed_strokes, lengthen, reseeded_points
from clipsketch.core.schedules import OptimizerConfig
from clipsketch.core.stacked import overlap, redundant_strokes
from clipsketch.core.step_batch import StepBatch
from clipsketch.core.strokes import Strokes
from clipsketch.core.view_bank import ViewBank, seeded_draws


class SketchCancelled(Exception):
    """The caller cancelled the sketch between two steps."""


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
    strokes (``widths``: their widths, None while widths are not optimised); ``anchor_loss``: the loss at the
    last improvement by more than the tolerance (what the stop rule measures against)."""

    best_loss: torch.Tensor
    best_points: torch.Tensor
    anchor_loss: torch.Tensor
    stalls: torch.Tensor
    history: list[list[tuple[int, float]]] = field(default_factory=list)
    stopped: list[int] = field(default_factory=list)
    widths: torch.Tensor | None = None

    @classmethod
    def start(cls, points: torch.Tensor) -> SeedTracker:
        count = points.shape[0]
        infinite = torch.full((count,), float("inf"))
        return cls(infinite.clone(), points.detach().clone(), infinite.clone(), torch.zeros(count, dtype=torch.long),
                   [[] for _ in range(count)], [-1] * count)

    def best_widths(self, seed: int, widths: torch.Tensor) -> torch.Tensor:
        """Widths ``[1, N]`` of seed ``seed``'s best strokes: the recorded ones, or ``widths`` (the start's)."""
        return (widths if self.widths is None else self.widths[seed : seed + 1]).detach().cpu().clone()

    def record(self, iteration: int, seeds: torch.Tensor, loss: torch.Tensor, points: torch.Tensor,
               config: OptimizerConfig, widths: torch.Tensor | None = None) -> torch.Tensor:
        """Record evaluation losses ``[k]`` of the seeds numbered ``seeds [k]`` for their ``points [k, N, 4, 2]``
        (and ``widths [k, N]``, kept when they require gradients: they are optimised); returns which of them have
        stalled ``patience`` times (``[k]`` bool). CLIPasso's rule: an evaluation more
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
        if widths is not None and widths.requires_grad:
            if self.widths is None:
                self.widths = torch.zeros(self.best_points.shape[:2], dtype=widths.dtype)
            self.widths[seeds[lower]] = widths.detach()[lower.to(widths.device)].cpu()
        self.best_loss[seeds] = torch.where(lower, loss, self.best_loss[seeds])
        for seed, value in zip(seeds.tolist(), loss.tolist()):
            self.history[seed].append((iteration, value))
        return self.stalls[seeds] >= config.patience

    @property
    def winner(self) -> int:
        return int(torch.argmin(self.best_loss))


@dataclass(frozen=True)
class Target:
    """What the sketches are matched with: ``photo [1, 3, S, S]`` 0..1 and its unaugmented ``taps`` through the
    frozen ``backbone``, under the ``loss``. ``evaluation_taps``: the photo's taps in fp32; given, the evaluation
    loss that picks the best strokes is an fp32 pass of the unaugmented sketches (None: taken from the training
    pass, right when that runs in fp32). ``view_bank``: augmentations drawn in advance with the photo's taps
    (:mod:`.view_bank`), replayed in an order shuffled by ``augmentation_seed`` (without one, the augmentations
    are drawn afresh every step from that seed). ``saliency [S, S]``: where strokes that collapsed are placed
    afresh after the config's ``reseed_after`` steps (None: never). ``contours [S, S]``: the photo's contour ridges
    (:func:`~clipsketch.core.contour_strokes.ridges`); given, re-seeding also moves stacked strokes
    (:func:`~clipsketch.core.stacked.redundant_strokes`) and traces new strokes along undrawn contours. ``apart``:
    strokes that are not one joined line pay for lying on each other's lines (:data:`APART_WEIGHT`), in what is
    optimised and in the evaluation."""

    photo: torch.Tensor
    taps: Taps
    backbone: nn.Module
    loss: LossConfig
    evaluation_taps: Taps | None = None
    view_bank: ViewBank | None = None
    augmentation_seed: int = 0
    saliency: torch.Tensor | None = None
    contours: torch.Tensor | None = None
    apart: bool = False


@dataclass(frozen=True)
class Controls:
    """How a run is steered from outside: ``autocast()`` the context of the backbone's passes (bf16 or none);
    ``cancel()`` true between two steps aborts (:class:`SketchCancelled`), ``finish()`` true ends it with the best
    strokes so far (a result, not an error); ``cuda_graphs``: on a CUDA device, replay the backbone's passes from
    CUDA graphs (:mod:`.cuda_graphs`) when the run steps alone; ``batch``: the runs this one shares its steps
    with (:mod:`.step_batch`; None: it steps alone)."""

    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    cancel: Callable[[], bool] = lambda: False
    finish: Callable[[], bool] = lambda: False
    cuda_graphs: bool = True
    batch: StepBatch | None = None


def optimize_strokes(start: Strokes, target: Target, config: OptimizerConfig,
                     controls: Controls = Controls()) -> Generator[Step, None, SeedTracker]:
    """Optimise ``start`` (``K`` seeds × ``N`` strokes, canvas pixels) towards ``target`` under ``config``.
    Yields a :class:`Step` per iteration; returns the :class:`SeedTracker` (best strokes and losses per seed),
    e.g. ``tracker = yield from optimize_strokes(...)``.

    Raises:
        SketchCancelled: ``controls.cancel()`` returned True between two steps.
    """
    running = torch.arange(start.batch_size)  # the seeds still optimised, as rows of the parameters
    frozen, kept = _frozen_strokes(start, config.frozen)
    parameters = _Parameters(start, config, frozen)
    colors = start.colors.detach()
    tracker = SeedTracker.start(start.points.detach().cpu())
    passes = StepPasses(target.backbone, target.loss, controls.autocast, controls.cuda_graphs)
    views = _StepViews(target, config, start.canvas_size)
    with controls.batch.member() if controls.batch is not None else contextlib.nullcontext():
        for iteration in range(config.iterations):
            if controls.cancel():
                raise SketchCancelled()
            points, widths = parameters.points(), parameters.widths
            strokes = Strokes(points, widths, colors[running.to(colors.device)], start.canvas_size, start.taper)
            parameters.optimizer.zero_grad(set_to_none=True)
            work = StepWork(strokes, views.drawer(iteration), passes, config.seeds_per_pass)
            terms = run_steps([work])[0] if controls.batch is None else controls.batch.run(work, run_steps)
            if isinstance(terms, BaseException):
                raise terms
            apart = 0.0
            if target.apart and not config.joined:
                apart = _kept_apart(points, widths).to(terms.total.device)
                terms = LossTerms(terms.geometric, terms.semantic, terms.total + apart, terms.evaluation + apart)

            done = iteration == config.iterations - 1 or controls.finish()
            stop = torch.zeros(len(running), dtype=torch.bool)
            if iteration % config.eval_every == 0 or done:
                evaluation = terms.evaluation if target.evaluation_taps is None else \
                    _evaluate(work.sketches, target) + apart
                stop = _seeds_to_stop(tracker, iteration, running, evaluation, points, widths, config)
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
                best=Strokes(tracker.best_points[winner : winner + 1].clone(),
                             tracker.best_widths(winner, start.widths[:1]), colors[:1].cpu(), start.canvas_size,
                             start.taper),
                running=len(running),
                finished=done,
            )
            if done:
                break
            parameters.step(frozen, kept)
            if stop.any():  # the stopped seeds leave the batch; the others keep their Adam moments
                parameters.keep_rows(~stop)
                running = running[~stop]
            if iteration + 1 in config.reseed_after and target.saliency is not None:
                generators = [torch.Generator().manual_seed(_reseed_seed(target.augmentation_seed, int(seed), iteration))
                              for seed in running]
                parameters.reseed(target.saliency, generators, frozen, start, target.contours)
            parameters.set_rate(config.rate(iteration + 1))
    for seed in running.tolist():
        if tracker.stopped[seed] < 0:
            tracker.stopped[seed] = iteration + 1
    return tracker


APART_WEIGHT = 4.0
"""The weight of :func:`~clipsketch.core.stacked.overlap` in the loss where the target asks for it
(``Target.apart``): two strokes on one line add about 7 loss units, two a width apart 2, one crossing another
about 0.01 (a 16-stroke offline sketch's loss: 12–55). Strokes are kept off each other's lines, so each draws
something of its own (docs/benchmarks.md: the gallery's 16-stroke clock had 5 strokes of 16 stacked, none with
it)."""


def _kept_apart(points: torch.Tensor, widths: torch.Tensor) -> torch.Tensor:
    """:data:`APART_WEIGHT` × the overlap of each running seed's strokes ``[k]``, its gradients added into the
    points ``[k, N, 4, 2]``."""
    apart = APART_WEIGHT * overlap(points, widths)
    apart.sum().backward()
    return apart.detach()


WIDTH_RATE = 0.05
"""The learning rate of widths (``weighted`` lines) as a fraction of the points' (pixels either way): a width
moves about a twentieth as far as a point does in a step."""


def _reseed_seed(augmentation_seed: int, seed: int, iteration: int) -> int:
    """The generator seed of one seed's re-seeding after ``iteration``: the same whoever else runs."""
    return (augmentation_seed * 1_000_003 + seed * 7919 + iteration) % 2**63


class _Parameters:
    """What Adam moves for the running seeds: the control points ``[k, N, 4, 2]`` (for a joined line, the
    chain of its ``3 N + 1`` points ``[k, 3 N + 1, 2]``, each segment's last point the next one's first) and,
    with ``config.width_range``, the widths ``[k, N]``; their Adam state, the learning rate, the bounds."""

    def __init__(self, start: Strokes, config: OptimizerConfig, frozen: torch.Tensor | None):
        self.config, self.frozen, self.canvas_size = config, frozen, start.canvas_size
        count = start.num_strokes
        self.segments = (torch.arange(count)[:, None] * 3 + torch.arange(4)).to(start.points.device) \
            if config.joined else None
        shape = start.points.detach().clone()
        self.values = _parameter(_chain(shape) if config.joined else shape, frozen if not config.joined else None)
        self.widths = start.widths.detach().clone()
        self.kept_widths = None if frozen is None else self.widths[:1, frozen].clone()
        groups = [{"params": [self.values], "scale": 1.0}]
        if config.width_range is not None:
            self.widths.requires_grad_(True)
            groups.append({"params": [self.widths], "scale": WIDTH_RATE})
        self.optimizer = torch.optim.Adam(groups, lr=config.rate(0))
        self.set_rate(config.rate(0))
        self.project(frozen, self.values[:, frozen].detach().clone() if frozen is not None else None)

    def points(self) -> torch.Tensor:
        """The strokes' control points ``[k, N, 4, 2]``."""
        return self.values[:, self.segments] if self.segments is not None else self.values

    def set_rate(self, rate: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = rate * group["scale"]

    def step(self, frozen: torch.Tensor | None, kept: torch.Tensor | None) -> None:
        """Adam's step, then :meth:`project`."""
        self.optimizer.step()
        self.project(frozen, kept)

    def project(self, frozen: torch.Tensor | None, kept: torch.Tensor | None) -> None:
        """The projections every evaluated state satisfies (from the start, after each step and each
        re-seeding): free strokes at least the shortest length when re-seeding is on
        (:func:`~clipsketch.core.reseed.lengthen`), points in the bounds (locked strokes exactly where they were),
        widths in their range (locked strokes' as they were)."""
        with torch.no_grad():
            if self.config.reseed_after and self.segments is None:
                lengthen(self.values, SHORTEST * self.canvas_size * self.config.zoom,
                         None if frozen is None else ~frozen)
            if self.config.bounds is not None:
                clamp_points(self.values, self.config.bounds)
            if frozen is not None:
                self.values[:, frozen] = kept  # exactly where they were, projection or not
            if self.config.width_range is not None:
                self.widths.clamp_(*self.config.width_range)
                if frozen is not None:
                    self.widths[:, frozen] = self.kept_widths  # a locked stroke keeps its width too

    def keep_rows(self, keep: torch.Tensor) -> None:
        """Only the seeds ``keep [k]`` go on, with their Adam state."""
        rows = keep.to(self.values.device)
        state = {tensor: self.optimizer.state[tensor] for tensor in self._tensors()}
        self.values = _parameter(self.values[rows], None if self.segments is not None else self.frozen)
        self.widths = self.widths.detach()[rows].requires_grad_(self.config.width_range is not None)
        self._rebuild({new: state[old] for new, old in zip(self._tensors(), state)}, rows)

    def reseed(self, saliency: torch.Tensor, generators: list[torch.Generator], frozen: torch.Tensor | None,
               start: Strokes, contours: torch.Tensor | None = None) -> None:
        """Collapsed strokes (:mod:`.reseed`), and with ``contours`` stacked ones (:mod:`.stacked`), placed
        afresh, their Adam moments started again (the second moment at the median of the sketch's other strokes,
        so the first steps are of the usual size) and their widths back to the start's. A proposal: the best
        strokes so far stay the best until the new ones do better."""
        points, widths = self.points().detach(), self.widths.detach()
        if self.segments is not None:
            raise ValueError("strokes of a joined line are not re-seeded (each is a piece of the one line)")
        movable = None if frozen is None else ~frozen
        collapsed = collapsed_strokes(points, widths, start.canvas_size, start.taper, movable)
        if contours is not None:
            collapsed |= redundant_strokes(points, widths, movable).to(collapsed.device)
        if not bool(collapsed.any()):
            return
        fresh, collapsed = reseeded_points(points, widths, collapsed, saliency, generators, start.taper, contours)
        if not bool(collapsed.any()):
            return
        with torch.no_grad():
            self.values.copy_(fresh)
            if self.config.bounds is not None:
                clamp_points(self.values, self.config.bounds)
            state = self.optimizer.state[self.values]
            if state:
                mask = collapsed.to(self.values.device)[..., None, None].expand_as(fresh)
                for moment, restart in (("exp_avg", None), ("exp_avg_sq", "median")):
                    values = state[moment]
                    if restart is None:
                        values[mask] = 0
                    else:
                        for k in range(values.shape[0]):
                            others = values[k][~mask[k]]
                            values[k][mask[k]] = others.median() if others.numel() else 0
            if self.config.width_range is not None:
                self.widths[collapsed] = start.widths[:1].expand_as(widths)[collapsed].to(widths)
                width_state = self.optimizer.state[self.widths]
                for moment in ("exp_avg", "exp_avg_sq") if width_state else ():
                    width_state[moment][collapsed] = 0

    def _tensors(self) -> list[torch.Tensor]:
        return [self.values] + ([self.widths] if self.config.width_range is not None else [])

    def _rebuild(self, states: dict[torch.Tensor, dict], rows: torch.Tensor) -> None:
        """A new Adam over the current tensors, carrying ``states`` (of the old ones) over for ``rows``."""
        settings = [{key: value for key, value in group.items() if key != "params"}
                    for group in self.optimizer.param_groups]
        self.optimizer = torch.optim.Adam([{**group, "params": [tensor]}
                                           for group, tensor in zip(settings, self._tensors())])
        for tensor, state in states.items():
            if state:
                self.optimizer.state[tensor] = {key: value[rows] if key != "step" else value
                                                for key, value in state.items()}


def _chain(points: torch.Tensor) -> torch.Tensor:
    """The points ``[K, 3 N + 1, 2]`` of joined strokes ``points [K, N, 4, 2]``: each stroke's first three,
    then the last one's end (each stroke must start where the one before it ends)."""
    return torch.cat([points[:, :, :3].reshape(points.shape[0], -1, 2), points[:, -1:, 3]], dim=1)


class _StepViews:
    """The views each step compares: the unaugmented pair alone before ``augment_from`` (or when the loss has no
    augmentations), then the loss's augmented views as well, drawn afresh from a seeded generator or replayed from
    the target's view bank (the sketches get the parameters the banked photo views were made with)."""

    def __init__(self, target: Target, config: OptimizerConfig, canvas_size: int):
        self.target, self.augment_from = target, config.augment_from
        self.augmented = target.loss.augmentations
        self.augmentation = paired_augmentation(target.loss, canvas_size)
        generator = torch.Generator().manual_seed(target.augmentation_seed)
        self.generator_state = generator.get_state()
        bank = target.view_bank
        if bank is not None:
            if bank.views != self.augmented:
                raise ValueError(f"the view bank holds {bank.views} augmented views a draw, the loss asks for "
                                 f"{self.augmented}")
            rounds = -(-config.iterations // len(bank))
            self.order = torch.cat([torch.randperm(len(bank), generator=generator) for _ in range(rounds)]).tolist()

    def drawer(self, iteration: int) -> Callable[[torch.Tensor], ViewDraw]:
        """What draws step ``iteration``'s views of its ``sketches [K, 3, S, S]``."""
        return lambda sketches: self.draw(iteration, sketches)

    def draw(self, iteration: int, sketches: torch.Tensor) -> ViewDraw:
        """The views of step ``iteration``'s ``sketches [K, 3, S, S]`` (view 0 unaugmented) and the photo's in the
        same ``V`` views: its taps where known (the unaugmented view, banked views), else its augmented views."""
        target = self.target
        if iteration < self.augment_from or self.augmented == 0:
            return ViewDraw(sketches[:, None], target.taps)
        if target.view_bank is None:
            with seeded_draws(self.generator_state) as current:
                photo_views, sketch_views = augment_pairs(target.photo, sketches, self.augmentation, self.augmented)
                self.generator_state = current()
            return ViewDraw(sketch_views, target.taps, photo_views[1:])
        draw = self.order[iteration]
        with seeded_draws(target.view_bank.states[draw]):
            _, sketch_views = augment_pairs(target.photo, sketches, self.augmentation, self.augmented)
        return ViewDraw(sketch_views, join_taps(target.taps, target.view_bank.photo_taps(draw)))


def _seeds_to_stop(tracker: SeedTracker, iteration: int, running: torch.Tensor, evaluation: torch.Tensor,
                   points: torch.Tensor, widths: torch.Tensor, config: OptimizerConfig) -> torch.Tensor:
    """Record the ``running`` seeds' ``evaluation [k]``; which of them stop now (``[k]`` bool): those that have
    converged (the stop rule, :meth:`SeedTracker.record`) and, from ``narrow_after`` on, every seed but the best
    (successive halving)."""
    stop = tracker.record(iteration, running, evaluation, points, config, widths)
    count = len(running)
    if config.narrow_after is not None and iteration >= config.narrow_after and count > 1:
        best = int(torch.argmin(tracker.best_loss[running]))
        stop = torch.ones(count, dtype=torch.bool)
        stop[best] = bool(tracker.stalls[running[best]] >= config.patience)
    for seed in running[stop].tolist():
        tracker.stopped[seed] = iteration + 1
    return stop


def _frozen_strokes(start: Strokes, flags: tuple[bool, ...] | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The locked strokes as a mask ``[N]`` and their points ``[1, n, 4, 2]`` (None, None: all move)."""
    if flags is None or not any(flags):
        return None, None
    if len(flags) != start.num_strokes:
        raise ValueError(f"frozen has {len(flags)} flags for {start.num_strokes} strokes")
    frozen = torch.tensor(flags, device=start.points.device)
    return frozen, start.points.detach()[:1, frozen].clone()


def _parameter(points: torch.Tensor, frozen: torch.Tensor | None) -> torch.Tensor:
    """A fresh leaf copy of ``points [K, N, 4, 2]``; the gradient of ``frozen`` strokes is zeroed, so Adam never
    moves them (its moments stay 0)."""
    parameter = points.detach().clone().requires_grad_(True)
    if frozen is not None:
        moving = (~frozen).to(points.dtype)[None, :, None, None]
        parameter.register_hook(lambda grad: grad * moving)
    return parameter


def _evaluate(sketches: torch.Tensor, target: Target) -> torch.Tensor:
    """The unaugmented loss ``[K]`` of ``sketches [K, 3, S, S]`` against the photo's fp32 taps, in fp32."""
    with torch.no_grad():
        taps = target.backbone(sketches.detach().float())
        return sketch_loss(taps, target.evaluation_taps, sketches.shape[0], target.loss).evaluation


def clamp_points(points: torch.Tensor, bounds: tuple[float, float, float, float]) -> torch.Tensor:
    """Project control points ``[..., 2]`` (pixels) into ``bounds = (left, top, right, bottom)``, in place."""
    left, top, right, bottom = bounds
    points[..., 0].clamp_(left, right)
    points[..., 1].clamp_(top, bottom)
    return points
