"""Photo loading: formats, modes, orientation, limits, and framing onto the square canvas."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from clipsketch.core.photo import PhotoError, frame_photo, load_photo


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "TIFF", "BMP"])
def test_common_formats_decode_to_rgb(chelsea, fmt):
    image = load_photo(encoded(Image.fromarray(chelsea), fmt))
    assert image.mode == "RGB" and image.size == (451, 300)
    assert np.abs(np.asarray(image, dtype=float) - chelsea).mean() < 8  # lossy formats stay close


def test_transparent_areas_become_white():
    rgba = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 5, 10))
    image = np.asarray(load_photo(encoded(rgba, "PNG")))
    assert tuple(image[5, 8]) == (255, 255, 255) and tuple(image[5, 2]) == (0, 0, 255)
    palette = rgba.convert("P")
    assert load_photo(encoded(palette, "PNG")).mode == "RGB"


def test_gray_cmyk_and_16_bit_photos(chelsea):
    gray = Image.fromarray(chelsea).convert("L")
    assert np.asarray(load_photo(encoded(gray, "PNG")))[..., 0].mean() == pytest.approx(np.asarray(gray).mean(), abs=1)
    cmyk = load_photo(encoded(Image.fromarray(chelsea).convert("CMYK"), "JPEG"))
    assert cmyk.mode == "RGB" and np.abs(np.asarray(cmyk, dtype=float) - chelsea).mean() < 20
    deep = Image.fromarray(np.asarray(gray, dtype=np.uint16) * 257)
    assert deep.mode.startswith("I;16")
    sixteen = np.asarray(load_photo(encoded(deep, "PNG")), dtype=float)[..., 0]
    assert np.abs(sixteen - np.asarray(gray)).max() <= 1


def test_exif_orientation_is_applied():
    wide = Image.new("RGB", (40, 20), "white")
    wide.paste((0, 0, 0), (0, 0, 10, 20))  # black on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    upright = load_photo(encoded(wide, "JPEG", exif=exif.tobytes()))
    assert upright.size == (20, 40)
    assert np.asarray(upright)[:8].mean() < 60  # the black band is now on top


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"definitely not an image", "not a recognised image format"),
    ],
)
def test_bad_bytes_are_refused_clearly(data, message):
    with pytest.raises(PhotoError, match=message):
        load_photo(data)


def test_truncated_photo_is_refused(chelsea):
    data = encoded(Image.fromarray(chelsea), "PNG")
    with pytest.raises(PhotoError, match="corrupt or truncated"):
        load_photo(data[: len(data) // 2])


def test_decompression_bomb_is_refused_before_decoding():
    bomb = encoded(Image.new("1", (12_000, 12_000)), "PNG")  # 144 megapixels in a few kB
    assert len(bomb) < 100_000
    with pytest.raises(PhotoError, match="more than the limit"):
        load_photo(bomb)


def test_missing_file(tmp_path):
    with pytest.raises(PhotoError, match="cannot read photo"):
        load_photo(tmp_path / "nope.jpg")


def test_framing_pads_without_squashing(chelsea):
    framed = frame_photo(Image.fromarray(chelsea), canvas_size=224, margin=0.0)
    assert framed.image.shape == (1, 3, 224, 224)
    band = round((451 - 300) / 2 * 224 / 451)  # white bands above and below the wide photo
    assert float(framed.image[0, :, : band - 1].min()) == 1.0
    assert float(framed.image[0, :, -band + 1 :].min()) == 1.0
    assert float(framed.image[0, :, 112].mean()) < 0.9  # the cat is in the middle
    # the frame maps canvas pixels onto photo pixels: the canvas centre is the photo centre
    assert torch.allclose(framed.frame.to_target(torch.tensor([112.0, 112.0])), torch.tensor([225.5, 150.0]))
    # and the canvas matches the photo, resampled, where they overlap
    photo_small = torch.nn.functional.interpolate(framed.photo, size=(149, 224), mode="area")
    top = (224 - 149) // 2
    assert float((framed.image[0, :, top : top + 149] - photo_small[0]).abs().mean()) < 0.06


def test_margin_shrinks_the_photo_on_the_canvas(chelsea):
    framed = frame_photo(Image.fromarray(chelsea), canvas_size=224, margin=0.1)
    edge = round(0.1 / 1.2 * 224)
    assert float(framed.image[0, :, :, : edge - 1].min()) == 1.0


def test_edge_padding_repeats_the_photos_border_pixels():
    """``padding="edge"`` fills the square with the photo's own border colours: no edge where the photo ends."""
    photo = Image.new("RGB", (300, 150), (200, 40, 40))
    photo.paste((40, 40, 200), (0, 0, 300, 20))  # a blue top band: repeated upwards into the padding
    white = frame_photo(photo, 64, 0.1).image[0]
    edge = frame_photo(photo, 64, 0.1, padding="edge").image[0]
    assert torch.allclose(white[:, 0, 32], torch.ones(3))  # white padding above the photo
    assert torch.allclose(edge[:, 0, 32], torch.tensor([40, 40, 200]) / 255, atol=0.02)
    assert torch.allclose(edge[:, 63, 32], torch.tensor([200, 40, 40]) / 255, atol=0.02)
    assert torch.allclose(white[:, 21:43, 8:56], edge[:, 21:43, 8:56])  # the photo itself is framed alike
    with pytest.raises(ValueError, match="padding must be white or edge"):
        frame_photo(photo, 64, padding="mirror")
