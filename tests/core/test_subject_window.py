"""A small subject is sketched on a square window around it: the window's geometry, when it is chosen, the canvas it
gives, and the real pipeline on the rocket (U²-Net, HED), whose strokes land on the rocket's part of the photo."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from clipsketch.core import sketch
from clipsketch.core.frame import Frame
from clipsketch.core.photo import frame_photo

SIZE = 224


def test_the_window_is_the_box_and_its_margin_centred_on_the_subject():
    frame = Frame.around(600, 400, (280, 150, 320, 250), SIZE, margin=0.1)  # a 40 x 100 box
    side = 100 * 1.2
    assert frame.scale == pytest.approx(side / SIZE)
    centre = frame.to_target(torch.tensor([SIZE / 2, SIZE / 2], dtype=torch.float64))
    assert centre.tolist() == pytest.approx([300, 200])
    assert (frame.width, frame.height) == (600, 400)  # still the photo's frame: strokes map onto the photo


def test_the_window_moves_inside_the_photo_and_is_centred_where_the_photo_is_narrower():
    corner = Frame.around(600, 400, (0, 0, 100, 100), SIZE, margin=0.1)  # 120 px wide: moved to the photo's corner
    assert (corner.offset_x, corner.offset_y) == (0, 0)
    tall = Frame.around(600, 400, (250, 0, 350, 390), SIZE, margin=0.1)  # 468 px: taller than the photo
    assert tall.offset_y == pytest.approx((400 - 390 * 1.2) / 2)
    assert tall.offset_x == pytest.approx(300 - 390 * 1.2 / 2)
    with pytest.raises(ValueError, match="margin"):
        Frame.around(600, 400, (0, 0, 10, 10), SIZE, margin=-0.1)
    with pytest.raises(ValueError, match="area"):
        Frame.around(600, 400, (5, 5, 5, 5), SIZE)


def box_mask(width, height, box) -> np.ndarray:
    mask = np.zeros((height, width), np.float32)
    left, top, right, bottom = box
    mask[top:bottom, left:right] = 1.0
    return mask


def test_only_a_subject_that_fills_little_of_the_photo_gets_a_window():
    whole = Frame.padded(640, 427, SIZE, 0.05)
    assert sketch.canvas_frame(None, 640, 427, SIZE, 0.05) == whole
    assert sketch.canvas_frame(np.zeros((427, 640), np.float32), 640, 427, SIZE, 0.05) == whole  # nothing found
    filling = box_mask(640, 427, (60, 20, 600, 420))
    assert sketch.canvas_frame(filling, 640, 427, SIZE, 0.05) == whole
    rocket = box_mask(640, 427, (300, 100, 330, 400))
    window = sketch.canvas_frame(rocket, 640, 427, SIZE, 0.05)
    assert window.scale * sketch.ZOOM_LEAST <= whole.scale
    corners = window.to_canvas(torch.tensor([[300.0, 100.0], [330.0, 400.0]], dtype=torch.float64))
    assert bool((corners > 0).all() and (corners < SIZE).all())  # the subject is inside the canvas


def test_a_tiny_subject_is_drawn_at_most_zoom_most_times_closer():
    whole = Frame.padded(640, 427, SIZE, 0.05)
    speck = sketch.canvas_frame(box_mask(640, 427, (400, 200, 404, 204)), 640, 427, SIZE, 0.05)
    assert whole.scale / speck.scale == pytest.approx(sketch.ZOOM_MOST)
    centre = speck.to_target(torch.tensor([SIZE / 2, SIZE / 2], dtype=torch.float64))
    assert centre.tolist() == pytest.approx([402, 202])


def test_a_window_shows_the_photo_around_the_subject_and_bounds_strokes_to_the_canvas():
    photo = np.full((400, 600, 3), 255, np.uint8)
    photo[180:220, 290:310] = (255, 0, 0)  # a small red subject
    photo[:, :40] = (0, 0, 255)  # something blue far from it
    frame = Frame.around(600, 400, (290, 180, 310, 220), SIZE, margin=0.1)
    canvas = frame_photo(Image.fromarray(photo), frame=frame).image[0]
    assert canvas[:, SIZE // 2, SIZE // 2].tolist() == pytest.approx([1, 0, 0], abs=0.02)
    red = (canvas[0] > 0.9) & (canvas[1] < 0.1)
    assert abs(int(red.any(0).sum()) - 20 / 48 * SIZE) <= 6  # 20 of the window's 48 photo pixels across
    assert int((canvas[0] < 0.1).sum()) == 0  # no blue: the window does not reach it
    assert sketch.photo_bounds(frame) == (0, 0, SIZE, SIZE)  # the photo goes on beyond every edge


@pytest.fixture(scope="module")
def rocket():
    import skimage.data

    return Image.fromarray(skimage.data.rocket())


def test_the_rocket_is_sketched_on_a_window_and_its_strokes_lie_around_it(rocket):
    from clipsketch.core import contours
    from clipsketch.core import mask as background
    from clipsketch.core.engine import Engine
    from clipsketch.core.events import Started
    from clipsketch.core.options import SketchOptions
    from clipsketch.core.reseed import SHORTEST, stroke_lengths

    if not (contours.is_available() and background.is_available()):
        pytest.skip("needs HED's weights and the [mask] extra")
    torch.set_num_threads(1)
    engine = Engine(backbone="offline", device="cpu", precision="fp32")
    quick = dict(strokes=(4,), iterations=10, seeds=1)
    events = list(engine.events(rocket, SketchOptions(**quick)))
    frame = next(e for e in events if isinstance(e, Started)).frame
    whole = Frame.padded(rocket.width, rocket.height, SIZE, SketchOptions().margin)
    assert frame.scale * sketch.ZOOM_LEAST <= whole.scale
    result = events[-1].result
    assert result.frame == frame
    points = frame.to_target(result.sketches[4].strokes.points[0].double()).reshape(-1, 2)
    subject = background.foreground_mask(rocket) > 0.5
    ys, xs = np.nonzero(subject)
    reach = 0.7 * frame.scale * SIZE  # within the window, which is centred on the subject
    centre = torch.tensor([(xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2], dtype=torch.float64)
    assert float((points - centre).abs().max()) <= reach
    # no stroke is shorter on the photo than the shortest stroke of a sketch of the whole photo
    lengths = stroke_lengths(frame.to_target(result.sketches[4].strokes.points[0].double()))
    assert float(lengths.min()) >= 0.99 * SHORTEST * SIZE * whole.scale
    # the SVG is the whole photo's: its size, and the strokes in photo pixels where the rocket is
    from clipsketch.core.svg import svg_to_strokes

    imported = svg_to_strokes(result.sketches[4].svg)
    assert (imported.frame.width, imported.frame.height) == (rocket.width, rocket.height)
    assert torch.allclose(imported.frame.to_target(imported.strokes.points.double()).reshape(-1, 2).float(),
                          points.float(), atol=0.05)
    # no mask: the whole photo
    unmasked = next(e for e in engine.events(rocket, SketchOptions(mask=False, **quick)) if isinstance(e, Started))
    assert unmasked.frame == whole
