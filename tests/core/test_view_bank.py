"""The view bank: draws replayed in a step give the sketches exactly the banked photo views' parameters."""

from __future__ import annotations

import contextlib

import pytest
import torch

from clipsketch.core.backbones import ClipResNetTaps, create_clip_visual
from clipsketch.core.losses import LossConfig, augment_pairs, paired_augmentation
from clipsketch.core.optimize import OptimizerConfig, Target, optimize_strokes
from clipsketch.core.photo import frame_photo, load_photo
from clipsketch.core.strokes import Strokes, random_points
from clipsketch.core.view_bank import draw_view_bank, seeded_draws


@pytest.fixture(scope="module")
def problem(tiny_model_configs, chelsea):
    torch.manual_seed(0)
    backbone = ClipResNetTaps(create_clip_visual("tiny-rn", "random"), "tiny")
    canvas = frame_photo(load_photo(chelsea)).image
    return backbone, canvas


def test_a_replayed_draw_gives_the_banked_photo_views(problem):
    backbone, canvas = problem
    augmentation = paired_augmentation(LossConfig(), 224)
    bank = draw_view_bank(canvas, augmentation, views=2, draws=5, seed=7, backbone=backbone,
                          autocast=contextlib.nullcontext, batch=3)
    assert len(bank) == 5 and bank.taps.embedding.shape[0] == 10
    sketches = torch.rand(3, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    embeddings = []
    for draw in (4, 0, 2):  # any order: each draw is reproduced from its own state
        with seeded_draws(bank.states[draw]):
            photo_views, sketch_views = augment_pairs(canvas, sketches, augmentation, 2)
        with torch.no_grad():
            taps = backbone(photo_views[1:])
        banked = bank.photo_taps(draw)
        for ours, theirs in zip([*taps.layers, taps.embedding], [*banked.layers, banked.embedding]):
            torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
        assert sketch_views.shape == (3, 3, 3, 224, 224)
        embeddings.append(banked.embedding)
    assert not torch.allclose(embeddings[0], embeddings[1])  # the draws differ
    before = torch.get_rng_state()
    draw_view_bank(canvas, augmentation, 2, 2, 7, backbone, contextlib.nullcontext)
    assert torch.equal(torch.get_rng_state(), before)  # the caller's generator is left alone


def test_an_optimisation_on_a_bank_lowers_the_loss_and_checks_its_views(problem):
    backbone, canvas = problem
    with torch.no_grad():
        photo_taps = backbone(canvas)
    loss = LossConfig(augmentations=1)
    bank = draw_view_bank(canvas, paired_augmentation(loss, 224), 1, 8, 0, backbone, contextlib.nullcontext,
                          loss.layer_weights)
    kept = [layer.numel() > 0 for layer in bank.taps.layers]
    assert kept == [w > 0 for w in loss.layer_weights]  # only the layers the loss weighs hold memory
    start = Strokes.from_points(random_points(1, 8, 224, step=5.6, generator=torch.Generator().manual_seed(0)))
    config = OptimizerConfig(iterations=60, tolerance=0)
    steps = list(optimize_strokes(start, Target(canvas, photo_taps, backbone, loss, view_bank=bank), config))
    assert len(steps) == 60 and steps[-1].evaluation < 0.9 * steps[0].evaluation
    with pytest.raises(ValueError, match="view bank holds 1 augmented views"):
        next(optimize_strokes(start, Target(canvas, photo_taps, backbone, LossConfig(augmentations=2),
                                            view_bank=bank), config))
