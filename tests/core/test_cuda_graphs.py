"""The backbone passes of a step: eager on a CPU, replayed from CUDA graphs on a GPU with the same results."""

from __future__ import annotations

import contextlib

import pytest
import torch

from clipsketch.core.backbones import BlurredTaps, ClipResNetTaps, OfflineTaps, create_clip_visual, create_offline_model
from clipsketch.core.cuda_graphs import StepPasses
from clipsketch.core.losses import LossConfig, paired_augmentation, sketch_loss
from clipsketch.core.optimize import Controls, OptimizerConfig, Target, optimize_strokes
from clipsketch.core.photo import frame_photo, load_photo
from clipsketch.core.strokes import Strokes, random_points
from clipsketch.core.view_bank import draw_view_bank

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")


def _views(count: int, views: int, seed: int, device) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(count * views, 3, 224, 224, generator=generator).to(device).requires_grad_(True)


def _eager(backbone, sketch_views, photo_taps, count, config, autocast):
    with autocast():
        taps = backbone(sketch_views)
    terms = sketch_loss(taps, photo_taps, count, config)
    (gradient,) = torch.autograd.grad(terms.total.sum(), sketch_views)
    return terms, gradient


def test_on_a_cpu_the_passes_are_the_plain_backbone_and_loss(tiny_model_configs):
    torch.manual_seed(0)
    backbone = ClipResNetTaps(create_clip_visual("tiny-rn", "random"), "tiny")
    config = LossConfig(augmentations=1)
    photo_views = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    passes = StepPasses(backbone, config, contextlib.nullcontext, graphs=True)
    photo_taps = passes.photo_taps(photo_views)
    with torch.no_grad():
        expected_photo = backbone(photo_views)
    assert all(torch.equal(a, b) for a, b in zip(photo_taps.layers, expected_photo.layers))

    sketch_views = _views(3, 2, 2, "cpu")
    terms = passes.loss(sketch_views, photo_taps, 3)
    (gradient,) = torch.autograd.grad(terms.total.sum(), sketch_views)
    expected, expected_gradient = _eager(backbone, sketch_views, photo_taps, 3, config, contextlib.nullcontext)
    for name in ("geometric", "semantic", "total", "evaluation"):
        assert torch.equal(getattr(terms, name), getattr(expected, name)), name
    assert torch.equal(gradient, expected_gradient)
    assert not terms.evaluation.requires_grad


def _cuda_backbones():
    clip = ClipResNetTaps(create_clip_visual("RN101-quickgelu", "random"), "RN101 random")
    offline = BlurredTaps(OfflineTaps(create_offline_model()), 1.0)
    return {"clip": clip.cuda(), "offline-blurred": offline.cuda()}


@needs_cuda
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_graphed_passes_equal_eager_ones_on_new_inputs_and_batch_sizes(precision):
    torch.manual_seed(0)
    config = LossConfig(augmentations=1)
    autocast = contextlib.nullcontext if precision == "fp32" else (
        lambda: torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=False))
    tolerance = {"rtol": 1e-4, "atol": 1e-6} if precision == "fp32" else {"rtol": 2e-2, "atol": 1e-4}
    gradient_tolerance = 1e-6 if precision == "fp32" else 3e-3
    for name, backbone in _cuda_backbones().items():
        passes = StepPasses(backbone, config, autocast, graphs=True)
        for call, count in enumerate((3, 3, 1, 3)):  # replays must see each call's inputs, per batch size
            photo_views = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(10 + call)).cuda()
            photo_taps = passes.photo_taps(photo_views)
            with autocast(), torch.no_grad():
                expected_photo = backbone(photo_views)
            for got, want in zip([*photo_taps.layers, photo_taps.embedding],
                                 [*expected_photo.layers, expected_photo.embedding]):
                torch.testing.assert_close(got, want, **tolerance, msg=f"{name} photo, call {call}")
            sketch_views = _views(count, 2, 20 + call, "cuda")
            terms = passes.loss(sketch_views, photo_taps, count)
            (gradient,) = torch.autograd.grad(terms.total.sum(), sketch_views)
            expected, expected_gradient = _eager(backbone, sketch_views, photo_taps, count, config, autocast)
            for term in ("geometric", "semantic", "total", "evaluation"):
                torch.testing.assert_close(getattr(terms, term), getattr(expected, term), **tolerance,
                                           msg=f"{name} {term}, call {call}")
            # bf16 backward kernels (depthwise convolutions) are not bit-stable run to run: compare as vectors
            error = float((gradient - expected_gradient).norm() / expected_gradient.norm())
            assert error < gradient_tolerance, f"{name} gradient, call {call}: relative error {error:.2e}"
        captured = [key for key, graph in {**passes._photo, **passes._loss}.items() if graph is not None]
        assert len(captured) == 3, f"{name}: graphs captured for {captured}"  # photo views; loss for 3 and 1


@needs_cuda
@pytest.mark.parametrize("fast_path", [False, True], ids=["fresh-draws", "seed-phase-and-view-bank"])
def test_an_optimisation_with_graphs_follows_the_eager_one(fast_path):
    """Also the fast schedule's path: 3 seeds comparing unaugmented views alone, then one seed with augmented views
    replayed from a view bank (batch shapes 3 x 1, then 1 x 2, each captured in its own graph)."""
    import skimage.data

    torch.manual_seed(0)
    backbone = ClipResNetTaps(create_clip_visual("RN101-quickgelu", "random"), "RN101 random").cuda()
    canvas = frame_photo(load_photo(skimage.data.chelsea())).image.cuda()
    with torch.no_grad():
        photo_taps = backbone(canvas)
    points = random_points(3, 16, 224, step=5.6, generator=torch.Generator().manual_seed(0))
    start = Strokes.from_points(points).to("cuda")
    loss_config = LossConfig(augmentations=1)
    config = OptimizerConfig(iterations=40, learning_rate=1.0, tolerance=0, narrow_after=20,
                             augment_from=20 if fast_path else 0)
    bank = None
    if fast_path:
        bank = draw_view_bank(canvas, paired_augmentation(loss_config, 224), 1, 8, 3, backbone,
                              contextlib.nullcontext)
    finals = {}
    for graphs in (False, True):
        steps = optimize_strokes(start, Target(canvas, photo_taps, backbone, loss_config, view_bank=bank,
                                               augmentation_seed=3), config, Controls(cuda_graphs=graphs))
        finals[graphs] = [step.total for step in steps]
    assert len(finals[True]) == len(finals[False]) == 40
    # cuDNN's backward kernels are not bit-stable run to run (eager ones neither): the same trajectory within 1 %
    torch.testing.assert_close(torch.tensor(finals[True]), torch.tensor(finals[False]), rtol=1e-2, atol=0)
