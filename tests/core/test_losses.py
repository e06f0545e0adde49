"""The loss: paired augmentation with identical parameters, and the formula itself."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from clipsketch.core.backbones import ClipResNetTaps, create_clip_visual
from clipsketch.core.losses import LossConfig, augment_pairs, paired_augmentation, sketch_loss


def test_augmentation_moves_photo_and_every_sketch_alike():
    torch.manual_seed(0)
    photo = torch.rand(1, 3, 224, 224)
    sketches = torch.cat([photo, photo, torch.rand(1, 3, 224, 224)])
    photo_views, sketch_views = augment_pairs(photo, sketches, paired_augmentation(LossConfig(), 224), 4)
    assert photo_views.shape == (5, 3, 224, 224) and sketch_views.shape == (3, 5, 3, 224, 224)
    assert torch.equal(photo_views[0], photo[0]) and torch.equal(sketch_views[2, 0], sketches[2])  # view 0: as is
    for view in range(1, 5):
        assert torch.allclose(sketch_views[0, view], photo_views[view])  # same image, same parameters
        assert torch.allclose(sketch_views[1, view], photo_views[view])
    assert not torch.allclose(photo_views[1], photo_views[2])  # views differ from each other
    assert float(photo_views[1:].min()) == 0.0  # perspective fills with 0


def test_loss_matches_the_formula_in_fp32():
    config = LossConfig(layer_weights=(0.0, 0.5, 1.0, 1.0, 0.0), semantic_weight=0.1)
    backbone = ClipResNetTaps(create_clip_visual("tiny-rn", "random"), "tiny")
    torch.manual_seed(1)
    photo_views = torch.rand(5, 3, 224, 224)
    sketch_views = torch.rand(2, 5, 3, 224, 224)
    with torch.no_grad():
        photo_taps = backbone(photo_views)
        sketch_taps = backbone(sketch_views.reshape(10, 3, 224, 224))
        terms = sketch_loss(sketch_taps, photo_taps, 2, config)
        for k in range(2):
            ours = backbone(sketch_views[k])
            geometric = sum(
                w * F.mse_loss(ours.layers[i], photo_taps.layers[i]) for i, w in enumerate(config.layer_weights) if w
            )
            semantic = 0.1 * (1 - F.cosine_similarity(ours.embedding, photo_taps.embedding)).mean()
            assert torch.allclose(terms.geometric[k], geometric, rtol=1e-5)
            assert torch.allclose(terms.semantic[k], semantic, rtol=1e-5)
            assert torch.allclose(terms.total[k], geometric + semantic, rtol=1e-5)
            unaugmented = sum(
                w * F.mse_loss(ours.layers[i][:1], photo_taps.layers[i][:1])
                for i, w in enumerate(config.layer_weights) if w
            ) + 0.1 * (1 - F.cosine_similarity(ours.embedding[:1], photo_taps.embedding[:1])).mean()
            assert torch.allclose(terms.evaluation[k], unaugmented, rtol=1e-5)
