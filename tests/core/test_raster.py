"""Rasterizer behaviour: gradients, degenerate input, batching, sparsity, devices."""

from __future__ import annotations

import pytest
import torch

from clipsketch.core import raster
from clipsketch.core.raster import band_coverage, rasterize, rasterize_strokes
from clipsketch.core.strokes import Strokes, random_points


def small_case(dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    points = (random_points(1, 3, 32, generator=generator) * 0.8 + 3).to(dtype)
    widths = torch.tensor([[2.5, 1.2, 4.0]], dtype=dtype)
    colors = torch.tensor([[[0.9, 0.1, 0.2, 0.8], [0.1, 0.5, 0.9, 0.95], [0.2, 0.7, 0.3, 0.6]]], dtype=dtype)
    return points, widths, colors


def test_gradients_match_finite_differences():
    points, widths, colors = small_case()
    inputs = tuple(t.clone().requires_grad_() for t in (points, widths, colors))
    weights = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1), dtype=torch.float64)

    def loss(p, w, c):
        return (rasterize(p, w, c, (32, 32)).rgb * weights).sum()

    assert torch.autograd.gradcheck(loss, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


def test_gradient_descent_on_points_reaches_a_target_drawing():
    generator = torch.Generator().manual_seed(3)
    target_points = random_points(1, 4, 64, step=6.0, generator=generator) + 10
    target = rasterize_strokes(Strokes.from_points(target_points, width=3.0, canvas_size=64)).rgb
    start = Strokes.from_points(target_points + 2.5, width=3.0, canvas_size=64).requires_grad_()
    optimizer = torch.optim.Adam([start.points], lr=0.2)
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        loss = ((rasterize_strokes(start).rgb - target) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    assert float((start.points - target_points).abs().mean()) < 1.0


def test_batch_renders_each_sketch_independently():
    generator = torch.Generator().manual_seed(4)
    strokes = Strokes.from_points(random_points(3, 8, 96, generator=generator), canvas_size=96)
    together = rasterize_strokes(strokes)
    for b in range(3):
        alone = rasterize_strokes(strokes.select(b))
        assert torch.allclose(together.rgb[b], alone.rgb[0], atol=1e-6)
        assert torch.allclose(together.alpha[b], alone.alpha[0], atol=1e-6)


def test_output_shapes_range_and_alpha():
    generator = torch.Generator().manual_seed(5)
    points = random_points(2, 5, 64, generator=generator)
    out = rasterize(points, torch.full((2, 5), 3.0), torch.tensor([0.0, 0, 0, 1]).expand(2, 5, 4), (48, 64))
    assert out.rgb.shape == (2, 3, 48, 64) and out.alpha.shape == (2, 1, 48, 64)
    assert float(out.rgb.min()) >= 0 and float(out.rgb.max()) <= 1
    # Black opaque ink over white: every channel is 1 - alpha.
    assert torch.allclose(out.rgb, (1 - out.alpha).expand_as(out.rgb), atol=1e-6)
    assert float(out.alpha.max()) == pytest.approx(1.0)


def test_straight_horizontal_stroke_has_exact_coverage():
    """A 3 px horizontal line centred on y = 10.5 covers rows 9..11 fully and nothing else."""
    points = torch.tensor([[[[5.0, 10.5], [10.0, 10.5], [20.0, 10.5], [25.0, 10.5]]]])
    alpha = rasterize(points, torch.tensor([[3.0]]), torch.tensor([[[0.0, 0, 0, 1]]]), (20, 30)).alpha[0, 0]
    column = alpha[:, 15]
    assert torch.allclose(column[9:12], torch.ones(3), atol=1e-3)
    assert float(column[:9].sum() + column[12:].sum()) < 1e-4
    # Width 2 centred on a pixel centre: the two neighbouring rows are half covered.
    alpha = rasterize(points, torch.tensor([[2.0]]), torch.tensor([[[0.0, 0, 0, 1]]]), (20, 30)).alpha[0, 0]
    assert torch.allclose(alpha[9:12, 15], torch.tensor([0.5, 1.0, 0.5]), atol=1e-3)


def test_band_coverage_of_a_diagonal_edge_is_exact_area():
    """A half-plane through the pixel centre at 45° covers exactly half the pixel; a 1 px band through
    the centre along the diagonal covers 1 - (1 - 1/√2)² of it."""
    diagonal = torch.tensor([[1.0, 1.0]])
    half = band_coverage(torch.tensor([50.0]), torch.tensor([100.0]), diagonal)  # edge at the pixel centre
    assert float(half) == pytest.approx(0.5, abs=1e-3)
    band = band_coverage(torch.tensor([0.0]), torch.tensor([1.0]), diagonal)
    assert float(band) == pytest.approx(1 - (1 - 2**-0.5) ** 2, abs=1e-3)


@pytest.mark.parametrize(
    "name, points",
    [
        ("all points equal", torch.full((1, 2, 4, 2), 20.0)),
        ("zero-length middle", torch.tensor([[[[10.0, 10], [20, 20], [20, 20], [30, 12]]]])),
        ("pixel-centre aligned", torch.tensor([[[[5.5, 10.5], [10.5, 10.5], [20.5, 10.5], [25.5, 10.5]]]])),
    ],
)
def test_degenerate_strokes_have_finite_gradients(name, points):
    strokes = Strokes.from_points(points, width=4.0, canvas_size=40).requires_grad_(True, True, True)
    out = rasterize_strokes(strokes)
    assert float(out.alpha.sum()) > 0, f"{name}: nothing drawn"
    out.rgb.square().sum().backward()
    for grad in (strokes.points.grad, strokes.widths.grad, strokes.colors.grad):
        assert torch.isfinite(grad).all(), name


def test_zero_length_stroke_draws_a_round_dot():
    strokes = Strokes.from_points(torch.full((1, 1, 4, 2), 20.0), width=10.0, canvas_size=40)
    alpha = rasterize_strokes(strokes).alpha[0, 0]
    assert float(alpha.sum()) == pytest.approx(torch.pi * 25, rel=0.03)  # area of a disc of radius 5


def test_no_strokes_or_nothing_on_canvas_gives_background_and_zero_gradients():
    for points in (torch.zeros(2, 0, 4, 2), torch.full((1, 3, 4, 2), -500.0)):
        strokes = Strokes.from_points(points).requires_grad_(True, True, True)
        out = rasterize_strokes(strokes, background=(1.0, 0.5, 0.0))
        assert torch.equal(out.rgb, torch.tensor([1.0, 0.5, 0.0]).view(1, 3, 1, 1).expand_as(out.rgb))
        assert float(out.alpha.abs().sum()) == 0
        out.rgb.sum().backward()
        assert torch.equal(strokes.points.grad, torch.zeros_like(points))


def test_zero_width_draws_nothing_with_finite_gradients():
    strokes = Strokes.from_points(random_points(1, 4, 64), width=0.0, canvas_size=64).requires_grad_(True, True)
    out = rasterize_strokes(strokes)
    assert float(out.alpha.sum()) == 0
    out.rgb.sum().backward()
    assert torch.isfinite(strokes.points.grad).all() and torch.isfinite(strokes.widths.grad).all()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("points", float("nan"), "points contain NaN"),
        ("points", float("inf"), "points contain NaN"),
        ("widths", -1.0, "widths must be >= 0"),
        ("widths", float("nan"), "widths contain NaN"),
        ("colors", 1.5, "within 0..1"),
    ],
)
def test_invalid_values_are_refused_with_a_clear_error(field, value, message):
    points, widths, colors = small_case(torch.float32)
    tensors = {"points": points, "widths": widths, "colors": colors}
    tensors[field] = tensors[field].clone()
    tensors[field].view(-1)[0] = value
    with pytest.raises(ValueError, match=message):
        rasterize(tensors["points"], tensors["widths"], tensors["colors"], (32, 32))


def test_malformed_shapes_are_refused():
    with pytest.raises(ValueError, match=r"points must have shape \[B, N, 4, 2\]"):
        rasterize(torch.zeros(1, 2, 3, 2), torch.ones(1, 2), torch.ones(1, 2, 4), (8, 8))
    with pytest.raises(ValueError, match="widths must have shape"):
        rasterize(torch.zeros(1, 2, 4, 2), torch.ones(2), torch.ones(1, 2, 4), (8, 8))
    with pytest.raises(ValueError, match="image size must be positive"):
        rasterize(torch.zeros(1, 2, 4, 2), torch.ones(1, 2), torch.ones(1, 2, 4), (0, 8))


def test_work_grows_with_touched_pixels_not_canvas_area():
    """The same strokes on a 16× larger canvas evaluate exactly the same (pixel, stroke) pairs."""
    generator = torch.Generator().manual_seed(6)
    points = random_points(1, 16, 224, generator=generator) * 0.8 + 20  # clear of the canvas edges
    widths = torch.full((1, 16), 3.0)
    small = raster._covered_pairs(points, widths, (224, 224), raster.DEFAULT_SEGMENT_LENGTH)
    large = raster._covered_pairs(points, widths, (896, 896), raster.DEFAULT_SEGMENT_LENGTH)
    assert small.segment.shape == large.segment.shape
    # and that is a small fraction of the dense N × H × W work
    assert small.segment.numel() < 0.03 * 16 * 224 * 224


def test_float64_and_float32_agree():
    points, widths, colors = small_case()
    double = rasterize(points, widths, colors, (32, 32)).rgb
    single = rasterize(points.float(), widths.float(), colors.float(), (32, 32)).rgb
    assert single.dtype == torch.float32
    assert torch.allclose(double.float(), single, atol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")
def test_cuda_matches_cpu_with_gradients():
    generator = torch.Generator().manual_seed(7)
    cpu = Strokes.from_points(random_points(2, 16, 224, generator=generator)).requires_grad_()
    gpu = cpu.to("cuda").requires_grad_()
    out_cpu, out_gpu = rasterize_strokes(cpu), rasterize_strokes(gpu)
    assert torch.allclose(out_cpu.rgb, out_gpu.rgb.cpu(), atol=1e-4)
    out_cpu.rgb.square().sum().backward()
    out_gpu.rgb.square().sum().backward()
    assert torch.allclose(cpu.points.grad, gpu.points.grad.cpu(), atol=1e-2, rtol=1e-3)
