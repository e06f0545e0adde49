"""The line drawing the offline path compares sketches with, and the blurred view it is compared through."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lxml import etree
from PIL import Image, ImageDraw
from scipy.ndimage import distance_transform_edt

from clipsketch.core.backbones import BlurredTaps, OfflineTaps, create_offline_model
from clipsketch.core.engine import Engine
from clipsketch.core.lines import line_drawing
from clipsketch.core.options import SketchOptions
from clipsketch.core.photo import frame_photo


def disc_photo(size=(300, 200), radius=60) -> Image.Image:
    """A black disc on white, off-centre in a landscape photo."""
    image = Image.new("RGB", size, "white")
    x, y = size[0] // 3, size[1] // 2
    ImageDraw.Draw(image).ellipse([x - radius, y - radius, x + radius, y + radius], fill="black")
    return image


def disc_outline_distance(photo: Image.Image) -> np.ndarray:
    """``[224, 224]`` distance (canvas pixels) to the disc's outline on the framed canvas."""
    gray = frame_photo(photo, 224, 0.05).image[0, 0].numpy()
    inside = gray < 0.5
    return np.minimum(distance_transform_edt(inside), distance_transform_edt(~inside))


def test_a_photo_that_fills_its_frame_has_no_line_at_its_edge():
    """White padding meets a gray photo: the photo's own edge is not a line (it would draw strokes there)."""
    lines = line_drawing(Image.new("RGB", (300, 200), (90, 90, 90)), 224, 0.05)
    assert lines.shape == (1, 3, 224, 224)
    assert float(lines.min()) > 0.95
    filled = line_drawing(Image.new("RGB", (300, 200), (90, 90, 90)), 224, 0.05, foreground=np.ones((200, 300)))
    assert float(filled.min()) > 0.95  # a foreground that fills the photo has no outline either


def test_lines_run_along_a_shapes_outline_only():
    photo = disc_photo()
    darkness = (1 - line_drawing(photo, 224, 0.05)[0, 0]).numpy()
    distance = disc_outline_distance(photo)
    assert darkness.sum() > 100  # there is a line
    assert darkness[distance <= 4].sum() > 0.95 * darkness.sum()  # and it is the outline


def test_the_foreground_masks_outline_is_drawn_where_the_photo_shows_none():
    """A pale disc barely differs from the white around it (no line of its own); given as the foreground, its
    outline is drawn, and nothing else is."""
    photo = disc_photo()
    pale = Image.fromarray(np.where(np.asarray(photo) < 128, 235, 255).astype(np.uint8))
    foreground = (np.asarray(photo)[..., 0] < 128).astype(np.float32)
    distance = disc_outline_distance(photo)
    alone = (1 - line_drawing(pale, 224, 0.05)[0, 0]).numpy()
    outlined = (1 - line_drawing(pale, 224, 0.05, foreground=foreground)[0, 0]).numpy()
    assert alone.sum() < 0.1 * outlined.sum()
    assert outlined.sum() > 100 and outlined[distance <= 4].sum() > 0.95 * outlined.sum()


def test_blurred_taps_see_a_blurred_image():
    backbone = OfflineTaps(create_offline_model())
    image = torch.ones(1, 3, 64, 64)
    image[..., 30:34, 30:34] = 0
    blurred = BlurredTaps(backbone, 2.0)
    with torch.no_grad():
        sharp, soft = backbone(image).layers[1], blurred(image).layers[1]
        again = blurred(image).layers[1]
    assert blurred.description == backbone.description
    assert torch.equal(soft, again) and not torch.allclose(sharp, soft, atol=1e-3)


@pytest.fixture(scope="module")
def offline_engine():
    return Engine(backbone="offline", device="cpu")


def test_the_offline_path_compares_with_lines_and_says_so(offline_engine, chelsea):
    assert offline_engine.target_for(SketchOptions()) == "lines"
    assert offline_engine.target_for(SketchOptions(target="photo")) == "photo"
    result = offline_engine.sketch(chelsea, SketchOptions(strokes=(2,), iterations=2, seeds=1, mask=False))
    facts = etree.fromstring(result.sketches[2].svg.encode()).find(".//{urn:clipsketch:sketch:1}sketch")
    assert facts.get("target") == "lines"


def test_the_offline_path_adds_the_masks_outline_only_when_a_mask_is_used(offline_engine):
    """Same start strokes, one evaluation: the subject's outline changes what the sketch is compared with (its loss)
    when background removal runs, and changes nothing without it. The coffee cup's mask has an outline in frame."""
    import skimage.data

    from clipsketch.core.lines import LineStyle

    cup = skimage.data.coffee()

    def loss(mask: bool, outline: bool) -> float:
        options = SketchOptions(strokes=(4,), iterations=1, seeds=1, mask=mask, lines=LineStyle(outline=outline))
        return offline_engine.sketch(cup, options).sketches[4].loss

    assert loss(False, True) == loss(False, False)
    assert abs(loss(True, True) - loss(True, False)) > 1e-3 * loss(True, False)
