"""Saliency: XDoG edges, the sampling distribution, seeded initial strokes, and ViT attention extraction."""

from __future__ import annotations

import torch

from clipsketch.core.backbones import ClipViTAttention, create_clip_visual
from clipsketch.core.saliency import (
    CHAIN_STEP,
    initial_points,
    salient_distribution,
    sample_start_points,
    upsample_attention,
    xdog_edges,
)


def test_xdog_marks_the_outline_not_the_flat_areas():
    image = torch.ones(1, 3, 96, 96)
    image[:, :, 20:76, 20:76] = 0.6  # a gray square on white
    edges = xdog_edges(image)[0, 0]
    assert edges.dtype == torch.float32 and set(edges.unique().tolist()) <= {0.0, 1.0}
    assert float(edges[:12, :12].sum()) == 0 and float(edges[40:56, 40:56].sum()) == 0  # flat white, flat gray
    ring = edges[16:80, 16:80].sum() - edges[28:68, 28:68].sum()
    assert float(ring) > 100  # the square's border


def test_blank_photo_has_no_edges():
    assert float(xdog_edges(torch.ones(1, 3, 32, 32)).sum()) == 0


def test_sampling_stays_on_salient_pixels_and_follows_their_weight():
    saliency = torch.zeros(32, 32)
    saliency[4:8, 4:8] = 1.0  # strong
    saliency[20:28, 20:28] = 0.5  # weak but 4x larger
    probabilities = salient_distribution(saliency).view(32, 32)
    assert float(probabilities[saliency == 0].sum()) == 0
    strong, weak = float(probabilities[4:8, 4:8].sum()), float(probabilities[20:28, 20:28].sum())
    expected = 16 * torch.exp(torch.tensor(1 / 0.3)) / (64 * torch.exp(torch.tensor(0.5 / 0.3)))
    assert strong / weak == pytest_approx(float(expected))
    points = sample_start_points(saliency, 40, torch.Generator().manual_seed(0))
    x, y = points[:, 0].long(), points[:, 1].long()
    assert bool((saliency[y, x] > 0).all())
    assert len({(int(a), int(b)) for a, b in zip(x, y)}) == 40  # without replacement


def test_too_few_salient_pixels_still_gives_distinct_points():
    saliency = torch.zeros(16, 16)
    saliency[3, 3] = 1.0
    points = sample_start_points(saliency, 5, torch.Generator().manual_seed(1))
    assert len({tuple(p.tolist()) for p in points}) == 5
    assert [3.5, 3.5] in points.tolist()


def test_initial_points_are_seeded_per_seed_and_chained_close():
    saliency = torch.rand(224, 224)
    both = initial_points(saliency, 16, [5, 6], 224)
    alone = initial_points(saliency, 16, [6], 224)
    assert both.shape == (2, 16, 4, 2)
    assert torch.equal(both[1], alone[0])  # a seed draws the same strokes whatever else is in the batch
    assert not torch.equal(both[0], both[1])
    steps = (both[:, :, 1:] - both[:, :, :-1]).abs()
    assert float(steps.max()) <= CHAIN_STEP * 224 + 1e-5


def test_vit_attention_from_the_real_vit_b32_architecture():
    visual = create_clip_visual("ViT-B-32-quickgelu", "random")
    attention = ClipViTAttention(visual, "ViT-B-32 random")(torch.rand(2, 3, 224, 224))
    assert attention.shape == (2, 7, 7)
    assert float(attention.min()) >= 0
    # class-token attention over 1 + 49 tokens sums to 1: the patches get all but the class token's share
    assert bool((attention.sum(dim=(1, 2)) <= 1 + 1e-5).all()) and float(attention.sum()) > 0.5
    upsampled = upsample_attention(attention, 224)
    assert upsampled.shape == (2, 1, 224, 224) and float(upsampled.max()) == 1.0


def pytest_approx(value):
    import pytest

    return pytest.approx(value, rel=1e-4)
