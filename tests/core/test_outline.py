"""The subject's outline among the contours strokes start from (core/sketch.py ``with_outline``): a one-pixel
ridge on the U²-Net mask's edge, never along the photo's own edge, and nothing without a mask."""

from __future__ import annotations

import numpy as np
import torch

from clipsketch.core.frame import Frame
from clipsketch.core.sketch import OUTLINE, with_outline


def test_the_outline_is_the_mask_edge_inside_the_photo():
    frame = Frame.padded(200, 100, 224)  # a wide photo: white bands above and below on the canvas
    foreground = np.zeros((100, 200), dtype=np.float32)
    foreground[20:80, 50:150] = 1.0  # a box in the middle
    foreground[:, 190:] = 1.0  # and a band along the photo's right edge
    ridge = with_outline(torch.zeros(224, 224), foreground, frame)
    edge = ridge > 0
    assert torch.all(ridge[edge] == OUTLINE)
    ys, xs = torch.nonzero(edge, as_tuple=True)
    scale = frame.scale
    photo_x, photo_y = (xs + 0.5) * scale + frame.offset_x, (ys + 0.5) * scale + frame.offset_y
    on_box = ((photo_x - 50).abs() < 2) | ((photo_x - 150).abs() < 2) | ((photo_y - 20).abs() < 2) | \
        ((photo_y - 80).abs() < 2)
    on_band = (photo_x - 190).abs() < 2  # the band's inner side is an outline too
    assert bool(torch.all(on_box | on_band))
    assert int(on_box.sum()) > 2 * (100 + 60) / scale * 0.8  # the box's whole edge, one pixel wide
    assert not bool(torch.any(photo_x > 196))  # not along the photo's own right edge
    assert not bool(torch.any((photo_y < 3) | (photo_y > 97)))  # nor its top and bottom


def test_no_mask_or_no_strength_leaves_the_ridges_as_they_are():
    ridge = torch.rand(224, 224)
    frame = Frame.padded(100, 100, 224)
    assert with_outline(ridge, None, frame) is ridge
    assert with_outline(ridge, np.ones((100, 100), dtype=np.float32), frame, strength=0.0) is ridge
    kept = with_outline(ridge, np.zeros((100, 100), dtype=np.float32), frame)  # an empty mask has no edge
    assert torch.equal(kept, ridge)
