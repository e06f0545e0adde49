"""One optimisation step's forward and backward, for one run or for many runs at once.

A run's step (:class:`StepWork`) is its ``K`` sketches' strokes, how its views are drawn (its own augmentation
draws) and its backbone passes. :func:`run_steps` takes the steps of any number of runs:

- one run: rasterise, draw the views, run the backbone (replaying CUDA graphs on a GPU, :mod:`.cuda_graphs`) a
  few seeds at a time if ``seeds_per_pass`` says so, and backpropagate into the strokes;
- many runs (:mod:`.step_batch` gathers them): the strokes of runs with the same stroke count, canvas and taper
  are rasterised as one batch; each run draws its own views (its draws, as alone); the augmented photo views
  and then the sketch views of all runs that share a backbone go through it as one batch each; each run's loss
  is its own (its photo, its weights) and one backward fills every run's gradients. Each run's loss depends on
  its own strokes only, so what it gets equals its solo step up to the order of floating-point sums.

The results are each run's :class:`~clipsketch.core.losses.LossTerms` ``[K]``, or the exception that run's own
part raised (a failure of a shared pass is every run's).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from clipsketch.core.backbones import BlurredTaps, Taps
from clipsketch.core.cuda_graphs import StepPasses
from clipsketch.core.losses import LossTerms, sketch_loss
from clipsketch.core.raster import rasterize_strokes
from clipsketch.core.strokes import Strokes


@dataclass
class ViewDraw:
    """A step's views: ``sketch_views [K, V, 3, S, S]`` (view 0 unaugmented), the photo's taps known already
    (``photo_taps``: the unaugmented view's, and banked ones) and the augmented photo views whose taps are still
    to be computed (``photo_views [V', 3, S, S]``, None when none are)."""

    sketch_views: torch.Tensor
    photo_taps: Taps
    photo_views: torch.Tensor | None = None


@dataclass
class StepWork:
    """One run's step: ``strokes`` (``K`` sketches whose points carry the run's gradients), ``draw_views``
    (``sketches [K, 3, S, S] → ViewDraw``, the run's own draws), its backbone ``passes`` and ``seeds_per_pass``
    (how many sketches a backbone pass takes when the run steps alone; None: all). :func:`run_steps` sets
    ``sketches`` (``[K, 3, S, S]``, the rasterised strokes)."""

    strokes: Strokes
    draw_views: Callable[[torch.Tensor], ViewDraw]
    passes: StepPasses
    seeds_per_pass: int | None = None
    sketches: torch.Tensor | None = None


def run_steps(works: Sequence[StepWork]) -> list[LossTerms | BaseException]:
    """The steps of ``works`` (one or many runs), gradients added into each run's strokes; their loss terms, or
    the exception of a run whose own part failed."""
    if len(works) == 1:
        return [_solo_step(works[0])]
    return _batched_steps(works)


def _solo_step(work: StepWork) -> LossTerms:
    work.sketches = rasterize_strokes(work.strokes).rgb
    drawn = work.draw_views(work.sketches)
    photo_taps = drawn.photo_taps
    if drawn.photo_views is not None:
        photo_taps = join_taps(photo_taps, work.passes.photo_taps(drawn.photo_views))
    return _loss_and_gradients(work.passes, drawn.sketch_views, photo_taps, work.seeds_per_pass)


def _batched_steps(works: Sequence[StepWork]) -> list[LossTerms | BaseException]:
    results: list[LossTerms | BaseException | None] = [None] * len(works)
    sketches = _rasterized_together(works, results)
    drawn: dict[int, ViewDraw] = {}
    for index, work in enumerate(works):
        if results[index] is None:
            try:
                work.sketches = sketches[index]
                drawn[index] = work.draw_views(work.sketches)
            except Exception as error:  # noqa: BLE001 - this run's own draw failed: its failure alone
                results[index] = error
    photo_taps = _augmented_photo_taps(works, drawn)
    totals = []
    for members in _groups(drawn, lambda i: (_backbone_key(works[i].passes.backbone),
                                             drawn[i].sketch_views.shape[-3:])).values():
        passes = works[members[0]].passes
        views = [drawn[i].sketch_views.flatten(0, 1) for i in members]
        with passes.autocast():
            taps = passes.backbone(torch.cat(views))
        for index, part in zip(members, _split_taps(taps, [len(v) for v in views])):
            count = drawn[index].sketch_views.shape[0]
            terms = sketch_loss(part, photo_taps[index], count, works[index].passes.loss_config)
            totals.append(terms.total.sum())
            results[index] = LossTerms(terms.geometric.detach(), terms.semantic.detach(), terms.total.detach(),
                                       terms.evaluation.detach())
    if totals:
        torch.stack(totals).sum().backward()
    return results  # type: ignore[return-value]


def _rasterized_together(works: Sequence[StepWork], results: list) -> dict[int, torch.Tensor]:
    """Each run's sketches ``[K, 3, S, S]``, rasterised one batch per stroke count, canvas and taper; a batch
    that fails is the failure of its runs."""
    sketches: dict[int, torch.Tensor] = {}
    for members in _groups(range(len(works)), lambda i: _raster_key(works[i].strokes)).values():
        strokes = [works[i].strokes for i in members]
        try:
            joined = Strokes(torch.cat([s.points for s in strokes]), torch.cat([s.widths for s in strokes]),
                             torch.cat([s.colors for s in strokes]), strokes[0].canvas_size, strokes[0].taper)
            images = rasterize_strokes(joined).rgb.split([s.batch_size for s in strokes])
        except Exception as error:  # noqa: BLE001
            for index in members:
                results[index] = error
            continue
        sketches.update(zip(members, images))
    return sketches


def _augmented_photo_taps(works: Sequence[StepWork], drawn: dict[int, ViewDraw]) -> dict[int, Taps]:
    """Each drawn run's photo taps of all its views: the augmented photo views still to be seen go through
    their backbone as one batch per backbone."""
    taps = {index: draw.photo_taps for index, draw in drawn.items() if draw.photo_views is None}
    pending = [index for index, draw in drawn.items() if draw.photo_views is not None]
    for members in _groups(pending, lambda i: (_backbone_key(works[i].passes.backbone),
                                               drawn[i].photo_views.shape[-3:])).values():
        passes = works[members[0]].passes
        views = [drawn[i].photo_views for i in members]
        with torch.no_grad(), passes.autocast():
            seen = passes.backbone(torch.cat(views))
        for index, part in zip(members, _split_taps(seen, [len(v) for v in views])):
            taps[index] = join_taps(drawn[index].photo_taps, part)
    return taps


def _groups(indices, key: Callable[[int], object]) -> dict[object, list[int]]:
    groups: dict[object, list[int]] = defaultdict(list)
    for index in indices:
        groups[key(index)].append(index)
    return groups


def _raster_key(strokes: Strokes) -> tuple:
    return (strokes.canvas_size, strokes.num_strokes, strokes.taper, strokes.points.dtype, strokes.points.device)


def _backbone_key(backbone: nn.Module) -> tuple:
    """Runs whose backbones have the same key can share its passes: the same module, or the same module seen
    through the same blur (each line-drawing target wraps the engine's backbone afresh)."""
    if isinstance(backbone, BlurredTaps):
        return id(backbone.backbone), backbone.sigma
    return id(backbone), None


def _split_taps(taps: Taps, rows: list[int]) -> list[Taps]:
    layers = [layer.split(rows) for layer in taps.layers]
    return [Taps([parts[k] for parts in layers], embedding) for k, embedding in enumerate(taps.embedding.split(rows))]


def _loss_and_gradients(passes: StepPasses, sketch_views: torch.Tensor, photo_taps: Taps,
                        seeds_per_pass: int | None) -> LossTerms:
    """The loss terms ``[K]`` of ``sketch_views [K, V, 3, S, S]``, their gradients added into the strokes' points.
    Seeds are independent (each loss depends on its own strokes only), so the backbone can take them a few at a
    time: gradients add up in the points, and only one group's activations are held at once."""
    count, step_views = sketch_views.shape[:2]
    group = seeds_per_pass or count
    chunks = []
    for first in range(0, count, group):
        chunk = sketch_views[first : first + group]
        chunks.append(passes.loss(chunk.reshape(chunk.shape[0] * step_views, *chunk.shape[2:]), photo_taps,
                                  chunk.shape[0]))
        chunks[-1].total.sum().backward(retain_graph=first + group < count)
    return LossTerms(*(torch.cat([getattr(c, name).detach() for c in chunks]) for name in
                       ("geometric", "semantic", "total", "evaluation")))


def join_taps(unaugmented: Taps, augmented: Taps | None) -> Taps:
    """The photo's taps of all views: the unaugmented view's, then the augmented ones'. A layer a view bank left
    empty (one the loss does not weigh) keeps the unaugmented view's alone; the loss never reads it."""
    if augmented is None:
        return unaugmented
    layers = [torch.cat([a, b.to(a.dtype)], dim=0) if b.numel() else a
              for a, b in zip(unaugmented.layers, augmented.layers)]
    return Taps(layers, torch.cat([unaugmented.embedding, augmented.embedding.to(unaugmented.embedding.dtype)]))
