"""Photos in: decoding with limits, normalising every kind of image to RGB over white, framing to the canvas.

Accepts encoded bytes (PNG, JPEG, WebP, TIFF, BMP, GIF …), a path, a PIL image or a NumPy array. Handles EXIF
orientation, palette, grayscale, CMYK, 16-bit and transparent images; refuses empty, corrupt, truncated and
oversized input with :class:`PhotoError`, whose message names the problem.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from clipsketch.core.frame import Frame
from clipsketch.core.limits import MAX_PHOTO_BYTES, MAX_PHOTO_PIXELS, Limits
from clipsketch.core.options import DEFAULT_CANVAS_SIZE


class PhotoError(ValueError):
    """The photo cannot be used; the message says why."""


@dataclass(frozen=True)
class FramedPhoto:
    """A photo ready for the engine.

    ``image`` ``[1, 3, S, S]`` RGB 0..1 on the square canvas (white padding); ``photo`` ``[1, 3, H, W]`` the
    photo itself (RGB 0..1 over white); ``frame`` maps canvas pixels back onto the photo's pixels.
    """

    image: torch.Tensor
    photo: torch.Tensor
    frame: Frame


PhotoInput = bytes | bytearray | str | Path | Image.Image | np.ndarray


def load_photo_within(data: bytes, limits: Limits) -> Image.Image:
    """``data`` decoded as :func:`load_photo` does, within ``limits``: its size in bytes, then in pixels.

    Raises:
        OptionError: no bytes, or more than the limit. PhotoError: see :func:`load_photo`.
    """
    limits.check_photo_bytes(len(data))
    return load_photo(data, max_pixels=limits.max_photo_pixels)


def load_photo(source: PhotoInput, max_pixels: int = MAX_PHOTO_PIXELS) -> Image.Image:
    """Decode ``source`` into an upright 8-bit RGB image composited over white.

    Raises:
        PhotoError: empty, unreadable, corrupt or truncated data, or more than ``max_pixels`` pixels.
    """
    if isinstance(source, Image.Image):
        image = source
    elif isinstance(source, np.ndarray):
        image = _from_array(source)
    else:
        data = _read_bytes(source)
        image = _decode(data, max_pixels)
    if image.width * image.height > max_pixels:
        raise PhotoError(f"photo is {image.width}x{image.height} pixels, more than the limit of {max_pixels:,}")
    if image.width == 0 or image.height == 0:
        raise PhotoError("photo has no pixels")
    try:
        image = ImageOps.exif_transpose(image)
        return _to_rgb_over_white(image)
    except (OSError, ValueError, SyntaxError) as error:  # truncated or corrupt pixel data shows up here
        raise PhotoError(f"photo data is corrupt or truncated: {error}") from None


def frame_photo(image: Image.Image, canvas_size: int = DEFAULT_CANVAS_SIZE, margin: float = 0.0,
                padding: str = "white", frame: Frame | None = None) -> FramedPhoto:
    """Pad ``image`` (RGB) to a centred square with ``margin`` (fraction of the longer side on each edge) and
    resize it to ``canvas_size`` pixels: nothing is squashed or cut off. ``padding``: ``white``, or ``edge`` (the
    photo's border pixels repeated outwards: no edge where the photo ends). ``frame``: the canvas's frame
    instead (a window on the photo, :meth:`Frame.around`; ``canvas_size`` and ``margin`` are then its own)."""
    if padding not in ("white", "edge"):
        raise ValueError(f"padding must be white or edge, got {padding!r}")
    frame = frame or Frame.padded(image.width, image.height, canvas_size, margin)
    canvas_size = frame.canvas_size
    photo = to_tensor(image)
    side = frame.scale * canvas_size  # photo pixels across the canvas
    grid = _canvas_grid(frame)
    small = photo if side <= 2 * canvas_size else _shrink(photo, canvas_size / side)
    if padding == "white":
        canvas = F.grid_sample(small - 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + 1
    else:
        canvas = F.grid_sample(small, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return FramedPhoto(canvas.clamp(0, 1), photo, frame)


def frame_map(values: torch.Tensor, frame: Frame, fill: float = 0.0) -> torch.Tensor:
    """A map ``values [1, C, h, w]`` whose pixels cover the photo ``frame`` maps (at any resolution ``h × w``)
    on its canvas, ``[1, C, S, S]``, sampled as :func:`frame_photo` samples the photo (antialiased when much
    larger than the canvas, then bilinear); ``fill`` outside the photo."""
    side = max(values.shape[-2:]) * frame.scale * frame.canvas_size / max(frame.width, frame.height)
    small = values if side <= 2 * frame.canvas_size else _shrink(values, frame.canvas_size / side)
    canvas = F.grid_sample(small.float() - fill, _canvas_grid(frame), mode="bilinear", padding_mode="zeros",
                           align_corners=False)
    return canvas + fill


def _canvas_grid(frame: Frame) -> torch.Tensor:
    """``grid_sample``'s grid ``[1, S, S, 2]``: canvas pixel centre ``c`` maps to photo coordinate
    ``c * scale + offset``, normalised to -1..1 over the photo."""
    steps = torch.arange(frame.canvas_size, dtype=torch.float32) + 0.5
    xs = (steps * frame.scale + frame.offset_x) / frame.width * 2 - 1
    ys = (steps * frame.scale + frame.offset_y) / frame.height * 2 - 1
    return torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], dim=-1).unsqueeze(0)


def to_tensor(image: Image.Image) -> torch.Tensor:
    """RGB PIL image to ``[1, 3, H, W]`` float 0..1."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()


def _shrink(photo: torch.Tensor, factor: float) -> torch.Tensor:
    """Antialiased downscale of ``[1, 3, H, W]`` by ``factor`` < 1 (before bilinear sampling onto the canvas)."""
    size = (max(round(photo.shape[2] * factor * 2), 1), max(round(photo.shape[3] * factor * 2), 1))
    return F.interpolate(photo, size=size, mode="bilinear", antialias=True, align_corners=False)


def _read_bytes(source: bytes | bytearray | str | Path) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as error:
            raise PhotoError(f"cannot read photo {path}: {error.strerror}") from None
        if size > MAX_PHOTO_BYTES:
            raise PhotoError(f"photo file {path} is {size / 2**20:.0f} MiB, more than {MAX_PHOTO_BYTES // 2**20} MiB")
        try:
            data = path.read_bytes()
        except OSError as error:
            raise PhotoError(f"cannot read photo {path}: {error.strerror}") from None
    if not data:
        raise PhotoError("photo is empty (0 bytes)")
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoError(f"photo is {len(data) / 2**20:.0f} MiB, more than {MAX_PHOTO_BYTES // 2**20} MiB")
    return data


def _decode(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > max_pixels:  # checked from the header, before decoding
                raise PhotoError(
                    f"photo is {image.width}x{image.height} pixels, more than the limit of {max_pixels:,}"
                )
            image.load()
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError(f"photo is too large: more than the limit of {max_pixels:,} pixels") from None
    except UnidentifiedImageError:
        raise PhotoError("not a recognised image format (expected PNG, JPEG, WebP, TIFF, BMP or GIF)") from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise PhotoError(f"photo data is corrupt or truncated: {error}") from None
    return image


def _from_array(array: np.ndarray) -> Image.Image:
    """``[H, W]`` gray or ``[H, W, 3|4]`` RGB(A) array, uint8 or float 0..1, to a PIL image."""
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise PhotoError(f"photo array must be HxW, HxWx3 or HxWx4, got shape {array.shape}")
    if array.dtype != np.uint8:
        array = (np.clip(np.nan_to_num(array.astype(np.float64)), 0, 1) * 255).round().astype(np.uint8)
    return Image.fromarray(array)


def _to_rgb_over_white(image: Image.Image) -> Image.Image:
    """Any PIL mode to RGB; transparent areas become white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):  # 16-bit and float gray: rescale to 8 bits
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        top = 1.0 if image.mode == "F" and array.max() <= 1 else top
        image = Image.fromarray((np.clip(array / top, 0, 1) * 255).round().astype(np.uint8), "L")
    if image.mode == "P" or image.mode == "PA":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV, RGB
