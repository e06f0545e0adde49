"""The backbone passes of an optimisation step, eager or replayed from CUDA graphs.

A step on a GPU is bound by kernel launches, not arithmetic: the frozen backbone's forward and backward are about
a thousand operator calls whose Python and dispatcher overhead outlasts their kernels. Their shapes are fixed for
a stroke count (``K`` seeds × ``V`` views of ``S × S`` images), so they are captured once as CUDA graphs and
replayed: the photo's augmented views (no gradient) and the sketches' loss (forward, and backward to the sketch
views). The rasteriser and the augmentation stay eager (their shapes depend on where the strokes are).

:class:`StepPasses` is what the optimiser calls; on a CPU, or with graphs off, it runs the same code eagerly. A
graph is captured per batch shape on first use (three warm-up passes, then the capture: a fraction of a second)
and belongs to one optimisation run, so concurrent runs in threads never share buffers; a capture that fails
(an operation CUDA graphs cannot hold) falls back to the eager pass with a logged warning.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import torch
from torch import nn

from clipsketch.core.backbones import Taps
from clipsketch.core.losses import LossTerms, sketch_loss
from clipsketch.core.options import LossConfig

log = logging.getLogger(__name__)

_WARMUP_PASSES = 3
"""Eager passes on a side stream before a capture: cuDNN/cuBLAS pick their algorithms and workspaces, and the
allocator its blocks, outside the graph."""


class StepPasses:
    """The backbone passes of one optimisation run (one stroke count).

    Args:
        backbone: frozen taps backbone, ``[B, 3, S, S]`` 0..1 images → :class:`Taps`.
        loss_config: the loss's weights.
        autocast: context manager factory for the backbone's precision (no autocast weight cache: graphs need
            every cast inside them).
        graphs: capture and replay CUDA graphs (only where the backbone's inputs are on a CUDA device).
    """

    def __init__(self, backbone: nn.Module, loss_config: LossConfig,
                 autocast: Callable[[], contextlib.AbstractContextManager], graphs: bool):
        self.backbone, self.loss_config, self.autocast = backbone, loss_config, autocast
        self.graphs = graphs
        self._photo: dict[tuple, _GraphedForward | None] = {}
        self._loss: dict[tuple, _GraphedLoss | None] = {}

    def photo_taps(self, views: torch.Tensor) -> Taps:
        """Taps of augmented photo views ``[V', 3, S, S]`` without gradients."""
        graphed = self._graph(self._photo, (views,), lambda: _GraphedForward(self._photo_forward, views))
        if graphed is None:
            return self._photo_forward(views)
        return graphed(views)

    def loss(self, sketch_views: torch.Tensor, photo_taps: Taps, count: int) -> LossTerms:
        """Loss terms ``[count]`` of ``sketch_views [count × V, 3, S, S]`` (sketch-major, with gradients) against
        ``photo_taps`` of the ``V`` photo views; ``total`` backpropagates to ``sketch_views``."""
        photo = (*photo_taps.layers, photo_taps.embedding)

        def terms(views: torch.Tensor, *photo_tensors: torch.Tensor) -> torch.Tensor:
            with self.autocast():
                taps = self.backbone(views)
            found = sketch_loss(taps, Taps(list(photo_tensors[:-1]), photo_tensors[-1]), count, self.loss_config)
            return torch.stack([found.geometric, found.semantic, found.total, found.evaluation])

        graphed = self._graph(self._loss, (sketch_views, *photo), lambda: _GraphedLoss(terms, sketch_views, photo))
        stacked = terms(sketch_views, *photo) if graphed is None else _Replay.apply(graphed, sketch_views, *photo)
        return LossTerms(stacked[0], stacked[1], stacked[2], stacked[3].detach())

    def _photo_forward(self, views: torch.Tensor) -> Taps:
        with self.autocast(), torch.no_grad():
            return self.backbone(views)

    def _graph(self, cache: dict, inputs: tuple[torch.Tensor, ...], capture: Callable):
        """The graph for ``inputs``' shapes and dtypes (captured now if new), or None: eager."""
        if not self.graphs or inputs[0].device.type != "cuda":
            return None
        key = tuple((tuple(t.shape), t.dtype) for t in inputs)
        if key not in cache:
            try:
                cache[key] = capture()
            except Exception as error:  # noqa: BLE001 - any capture failure: run that pass eagerly
                log.warning("CUDA graph capture failed (%s: %s); this pass runs without graphs",
                            type(error).__name__, error)
                with contextlib.suppress(Exception):
                    torch.cuda.synchronize()
                cache[key] = None
        return cache[key]


def _warm_up(run: Callable[[], None]) -> None:
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(_WARMUP_PASSES):
            run()
    torch.cuda.current_stream().wait_stream(side)


class _GraphedForward:
    """A captured no-gradient forward ``views → Taps``; a call copies the views in, replays, and returns copies
    of the outputs (the graph's own buffers are overwritten by the next replay)."""

    def __init__(self, forward: Callable[[torch.Tensor], Taps], sample: torch.Tensor):
        self.input = sample.detach().clone()
        _warm_up(lambda: forward(self.input))
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph, capture_error_mode="thread_local"):
            self.output = forward(self.input)

    def __call__(self, views: torch.Tensor) -> Taps:
        self.input.copy_(views)
        self.graph.replay()
        return Taps([layer.clone() for layer in self.output.layers], self.output.embedding.clone())


class _GraphedLoss:
    """A captured ``terms(views, *photo) → [4, K]`` (geometric, semantic, total, evaluation) and its backward
    from a gradient on that output to ``views``, sharing one memory pool."""

    def __init__(self, terms: Callable[..., torch.Tensor], views: torch.Tensor, photo: tuple[torch.Tensor, ...]):
        self.views = views.detach().clone().requires_grad_(True)
        self.photo = tuple(t.detach().clone() for t in photo)

        def forward_and_backward() -> None:
            output = terms(self.views, *self.photo)
            torch.autograd.grad(output, self.views, torch.ones_like(output))

        _warm_up(forward_and_backward)
        self.forward_graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.forward_graph, capture_error_mode="thread_local"):
            self.output = terms(self.views, *self.photo)
        self.output_grad = torch.zeros_like(self.output)
        self.backward_graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.backward_graph, pool=self.forward_graph.pool(), capture_error_mode="thread_local"):
            (self.views_grad,) = torch.autograd.grad(self.output, self.views, self.output_grad)


class _Replay(torch.autograd.Function):
    """Autograd's view of a :class:`_GraphedLoss`: forward replays the forward graph, backward the backward one."""

    @staticmethod
    def forward(ctx, graphed: _GraphedLoss, views: torch.Tensor, *photo: torch.Tensor) -> torch.Tensor:
        graphed.views.copy_(views)
        for buffer, tensor in zip(graphed.photo, photo):
            buffer.copy_(tensor)
        graphed.forward_graph.replay()
        ctx.graphed, ctx.photo_count = graphed, len(photo)
        return graphed.output.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        graphed = ctx.graphed
        graphed.output_grad.copy_(grad)
        graphed.backward_graph.replay()
        return (None, graphed.views_grad.clone(), *([None] * ctx.photo_count))
