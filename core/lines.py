"""A line drawing of the photo: what the offline backbone's sketch is compared with.

ImageNet CNNs such as EfficientNet judge images largely by texture, so a sketch optimised to match a photo's
features fills fur, petals and bricks with scribbles. Compared with a line drawing of the photo instead (dark,
soft XDoG lines at a coarse scale, on white), the same features ask for outlines and the defining inner lines,
which is what a person draws. CLIP is not texture-biased; the CLIP path keeps comparing with the photo. Where
HED's contours are used (:mod:`~clipsketch.core.contour_strokes`), its sharpened map is the lines instead
(:func:`contour_lines`): the boundaries people draw, with far less fur and texture than XDoG's.

The drawing is made on the framed canvas with the photo's border pixels repeated outwards, then everything
outside the photo is whitened: the edge of the photo itself is never a line. Where the subject's foreground
mask is known (U²-Net), its outline is drawn too, as the same kind of line: the silhouette a person draws first,
solid even where the photo's own edge is a broken chain of petal tips or fur.
"""

from __future__ import annotations

import numpy as np
import torch
from kornia.color import rgb_to_grayscale
from PIL import Image

from clipsketch.core.frame import Frame
from clipsketch.core.mask import backdrop_image
from clipsketch.core.options import DEFAULT_CANVAS_SIZE, LineStyle
from clipsketch.core.photo import frame_photo
from clipsketch.core.saliency import gaussian_blur


def line_drawing(image: Image.Image, canvas_size: int = DEFAULT_CANVAS_SIZE, margin: float = 0.0,
                 style: LineStyle = LineStyle(), foreground: np.ndarray | None = None,
                 contours: torch.Tensor | None = None, frame: Frame | None = None) -> torch.Tensor:
    """``image`` (RGB photo, background already whitened where a mask was used) → ``[1, 3, S, S]`` 0..1: dark
    soft lines on white, framed exactly as :func:`~clipsketch.core.photo.frame_photo` frames the photo.
    ``foreground``: the photo's mask ``[H, W]`` 0..1 (1: subject), whose outline is added; None: no outline.
    ``contours``: the photo's contour map on the canvas ``[S, S]`` (:func:`contour_lines`); given, its lines
    replace XDoG's. ``frame``: the canvas's frame when it is a window on the photo
    (:func:`~clipsketch.core.photo.frame_photo`'s)."""
    lines = _xdog_lines(image, canvas_size, margin, style, frame) if contours is None else contour_lines(contours)
    if foreground is not None:
        lines = torch.minimum(lines, _xdog_lines(backdrop_image(foreground), canvas_size, margin, style, frame))
    return lines.expand(-1, 3, -1, -1).contiguous()


def _xdog_lines(image: Image.Image, canvas_size: int, margin: float, style: LineStyle,
                frame: Frame | None = None) -> torch.Tensor:
    """``[1, 1, S, S]`` 0..1 XDoG lines of ``image`` framed with edge padding, white outside the photo."""
    framed = frame_photo(image, canvas_size, margin, padding="edge", frame=frame)
    canvas, frame = framed.image, framed.frame
    centres = torch.arange(canvas_size, dtype=torch.float32) + 0.5  # canvas pixel centres, in photo pixels:
    xs, ys = centres * frame.scale + frame.offset_x, centres * frame.scale + frame.offset_y
    inside = ((ys >= 0) & (ys <= image.height))[:, None] & ((xs >= 0) & (xs <= image.width))[None, :]
    sigma = style.sigma * canvas_size / DEFAULT_CANVAS_SIZE
    gray = rgb_to_grayscale(canvas)
    difference = gaussian_blur(gray, sigma) - style.gamma * gaussian_blur(gray, style.k * sigma)
    lines = torch.where(difference >= style.epsilon, torch.ones_like(difference),
                        1 + torch.tanh(style.phi * (difference - style.epsilon))).clamp(0, 1)
    return 1 - (1 - lines) * inside


CONTOUR_DARK = (0.25, 0.65, 1.5)
"""Contour probabilities that map to no ink and to full ink, and the power of the ramp between (a soft map
sharpened: HED's faint, wide fringes drop out, its sure lines stay solid)."""


def contour_lines(contours: torch.Tensor) -> torch.Tensor:
    """``[1, 1, S, S]`` 0..1: a contour map ``[S, S]`` (HED's probability on the canvas, weighted by where the
    subject is) drawn as dark lines on white, sharpened by :data:`CONTOUR_DARK`. The soft map, not its thinned
    ridges: those break into dots where the map is flat along a line, and dotted lines read as texture."""
    low, high, power = CONTOUR_DARK
    ink = ((contours.float() - low) / (high - low)).clamp(0, 1) ** power
    return (1 - ink)[None, None]
