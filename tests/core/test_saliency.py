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
    xdog_reference_mask,
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


def test_the_reference_xdog_map_matches_an_independent_statement_and_marks_broad_dark_regions(chelsea):
    """CLIPasso's map restated with scikit-image (its Gaussian, its Otsu) on the CLIP-normalised photo: the two
    agree on all but a sliver of pixels; the map marks several times the pixels the contour map does."""
    import numpy as np
    import skimage.filters

    from clipsketch.core.backbones import CLIP_MEAN, CLIP_STD
    from clipsketch.core.photo import frame_photo, load_photo

    canvas = frame_photo(load_photo(chelsea)).image
    normalized = (canvas[0].permute(1, 2, 0).numpy() - np.array(CLIP_MEAN)) / np.array(CLIP_STD)
    gray = normalized @ np.array([0.299, 0.587, 0.114])
    difference = (skimage.filters.gaussian(gray, 0.8, mode="nearest", truncate=3)
                  - 0.98 * skimage.filters.gaussian(gray, 8.0, mode="nearest", truncate=3))
    response = np.where(difference >= -0.1, 1 + np.tanh(200 * difference), 1.0)
    response = (response - response.min()) / (response.max() - response.min())
    expected = response < skimage.filters.threshold_otsu(response)

    marked = xdog_reference_mask(canvas)[0, 0].numpy().astype(bool)
    assert (marked == expected).mean() > 0.99
    photo = (slice(37, 187), slice(0, 224))  # the photo's rows on the canvas (chelsea is wide)
    assert marked[photo].mean() > 3 * xdog_edges(canvas)[0, 0].numpy()[photo].mean()


def test_clip_path_starts_from_the_reference_map_and_offline_from_contours(chelsea, tiny_model_configs):
    from clipsketch.core import contours
    from clipsketch.core.engine import Engine
    from clipsketch.core.options import SketchOptions

    torch.manual_seed(0)
    clip = Engine(backbone="clip", weights="random", loss_model="tiny-rn", saliency_model="tiny-vit", device="cpu")
    quick = dict(strokes=(2,), iterations=1, seeds=1, mask=False)
    assert clip.sketch(chelsea, SketchOptions(**quick)).saliency_source.endswith("× XDoG (CLIPasso's map)")
    assert clip.sketch(chelsea, SketchOptions(init="contour", **quick)).saliency_source.endswith("× XDoG edges")
    offline = Engine(backbone="offline", device="cpu")
    hed = "HED contours" if contours.is_available() else "XDoG edges"  # XDoG where HED's weights are missing
    assert offline.sketch(chelsea, SketchOptions(**quick)).saliency_source == hed
    assert offline.sketch(chelsea, SketchOptions(init="contour", **quick)).saliency_source == "XDoG edges"
    assert offline.sketch(chelsea, SketchOptions(init="reference", **quick)).saliency_source == "XDoG (CLIPasso's map)"
