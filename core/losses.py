"""CLIPasso's loss: paired augmentation, a geometric term on intermediate layers, a semantic term on embeddings.

For every step, ``A`` augmentations (RandomPerspective, then RandomResizedCrop) are drawn and applied with
*identical* parameters to the photo and to every sketch of the batch; with the unaugmented pair in front, each
sketch is compared with the photo in ``A + 1`` views through a frozen backbone:

- geometric = ``Σ_l w_l · mean((F_l(sketch) - F_l(photo))²)`` over the backbone's five tapped layers;
- semantic = ``w_s · (1 - cos(E(sketch), E(photo)))`` on the final embeddings;

each averaged over the views. Images are ``[B, 3, S, S]`` in 0..1; the backbone normalises them itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import kornia.augmentation as K
import torch
import torch.nn.functional as F
from torch import nn

from clipsketch.core.backbones import Taps
from clipsketch.core.options import LossConfig


def paired_augmentation(config: LossConfig, size: int) -> nn.Module:
    """The per-view augmentation: RandomPerspective(distortion, p=1, fill 0) then RandomResizedCrop(size,
    scale (s, s), ratio (1, 1)). Applied to ``[V, C, S, S]`` it draws one set of parameters per view, shared by
    all ``C`` channels."""
    return nn.Sequential(
        K.RandomPerspective(distortion_scale=config.perspective, p=1.0, sampling_method="basic"),
        K.RandomResizedCrop((size, size), scale=(config.crop_scale, config.crop_scale), ratio=(1.0, 1.0)),
    )


def augment_pairs(
    photo: torch.Tensor, sketches: torch.Tensor, augmentation: nn.Module, views: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Views of ``photo [1, 3, S, S]`` and ``sketches [K, 3, S, S]`` with identical augmentation parameters.

    Returns ``photo_views [views + 1, 3, S, S]`` and ``sketch_views [K, views + 1, 3, S, S]``; view 0 is the
    unaugmented pair. The channels of the photo and of all sketches are stacked into one image per view, so one
    draw of parameters moves them all alike."""
    count, _, size, _ = sketches.shape
    stacked = torch.cat([photo.to(sketches.dtype), sketches.reshape(1, 3 * count, size, size)], dim=1)
    if views:
        stacked = torch.cat([stacked, augmentation(stacked.expand(views, -1, -1, -1))], dim=0)
    photo_views = stacked[:, :3]
    sketch_views = stacked[:, 3:].reshape(views + 1, count, 3, size, size).transpose(0, 1)
    return photo_views, sketch_views


@dataclass
class LossTerms:
    """Per-sketch loss terms ``[K]``: over all views (``geometric``, ``semantic``, ``total``, what is optimised)
    and on the unaugmented view only (``evaluation``, what picks the best strokes)."""

    geometric: torch.Tensor
    semantic: torch.Tensor
    total: torch.Tensor
    evaluation: torch.Tensor


def sketch_loss(sketch_taps: Taps, photo_taps: Taps, count: int, config: LossConfig) -> LossTerms:
    """Loss terms for ``count`` sketches from backbone taps.

    ``sketch_taps`` come from ``[K * V, 3, S, S]`` (sketch-major: all views of sketch 0 first), ``photo_taps``
    from ``[V, 3, S, S]`` (the same views of the photo); view 0 is unaugmented."""
    views = photo_taps.embedding.shape[0]
    per_view_geometric = torch.zeros(count, views, device=sketch_taps.embedding.device)
    for weight, sketch_layer, photo_layer in zip(config.layer_weights, sketch_taps.layers, photo_taps.layers):
        if weight == 0:
            continue
        difference = sketch_layer.float().view(count, views, -1) - photo_layer.float().view(1, views, -1)
        per_view_geometric = per_view_geometric + weight * difference.square().mean(dim=2)
    similarity = F.cosine_similarity(
        sketch_taps.embedding.float().view(count, views, -1), photo_taps.embedding.float().view(1, views, -1), dim=2
    )
    per_view_semantic = config.semantic_weight * (1 - similarity)
    per_view_total = per_view_geometric + per_view_semantic
    return LossTerms(
        geometric=per_view_geometric.mean(dim=1),
        semantic=per_view_semantic.mean(dim=1),
        total=per_view_total.mean(dim=1),
        evaluation=per_view_total[:, 0].detach(),
    )
