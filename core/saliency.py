"""Where strokes start: a saliency map from CLIP ViT attention times XDoG edges, and seeded stroke sampling.

CLIPasso's initialisation: the attention of the class token to the 7×7 patch tokens of CLIP ViT-B/32, averaged
over heads and the 12 blocks, upsampled bicubically to the canvas, multiplied by a binary XDoG map of the photo
so that only marked pixels keep saliency; start points are drawn without replacement from a softmax (temperature
0.3) over the salient pixels, and each stroke's other control points are short random chains from there.

Two XDoG maps (:data:`~clipsketch.core.options.INIT_MODES`): ``contour`` (:func:`xdog_edges`, the textbook XDoG:
thin dark contours) and ``reference`` (:func:`xdog_reference_mask`, what CLIPasso's code computes: XDoG of the
CLIP-normalised photo with the sharpening branch on the side where the difference of Gaussians is at least
epsilon, which marks broad dark regions as well as contours).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from kornia.color import rgb_to_grayscale
from kornia.filters import gaussian_blur2d, otsu_threshold

from clipsketch.core.backbones import CLIP_MEAN, CLIP_STD
from clipsketch.core.strokes import chained_points


SOFTMAX_TEMPERATURE = 0.3
CHAIN_STEP = 0.025
"""Largest offset per axis between consecutive control points, as a fraction of the canvas (5.6 px at 224)."""


@dataclass(frozen=True)
class XDoG:
    """XDoG's parameters (CLIPasso's): ``D = G_σ * I - γ G_kσ * I``, sharpness ``φ``, threshold ``ε``."""

    gamma: float = 0.98
    phi: float = 200.0
    epsilon: float = -0.1
    sigma: float = 0.8
    k: float = 10.0

    def difference(self, gray: torch.Tensor) -> torch.Tensor:
        """``D`` of a gray image ``[B, 1, H, W]``."""
        return gaussian_blur(gray, self.sigma) - self.gamma * gaussian_blur(gray, self.k * self.sigma)


def xdog_edges(image: torch.Tensor, xdog: XDoG = XDoG()) -> torch.Tensor:
    """Binary edge map ``[B, 1, H, W]`` (1 = edge) of ``image [B, 3, H, W]`` (0..1) by eXtended Difference of
    Gaussians, binarised with Otsu's threshold.

    The XDoG response of the gray image is ``1`` where ``D >= ε`` and ``1 + tanh(φ (D - ε))`` elsewhere; edges
    are where ``1 - response`` exceeds its Otsu threshold."""
    difference = xdog.difference(rgb_to_grayscale(image))
    epsilon, phi = xdog.epsilon, xdog.phi
    response = torch.where(difference >= epsilon, torch.ones_like(difference), 1 + torch.tanh(phi * (difference - epsilon)))
    darkness = 1 - response
    edges = torch.zeros_like(darkness)
    for b in range(image.shape[0]):
        if float(darkness[b].max()) > 0:
            edges[b] = otsu_threshold(darkness[b, 0], return_mask=True)[0].to(darkness.dtype)
    return edges


def xdog_reference_mask(image: torch.Tensor, xdog: XDoG = XDoG()) -> torch.Tensor:
    """CLIPasso's start-point map ``[B, 1, H, W]`` (1 = marked) of ``image [B, 3, H, W]`` (0..1).

    ``D`` is taken from the CLIP-normalised photo's gray image; the response is ``1 + tanh(φ D)`` where
    ``D >= ε`` and ``1`` elsewhere, scaled to 0..1; marked are the pixels below its Otsu threshold (the dark
    ones: contours and broad regions where ``D`` is slightly negative)."""
    mean = torch.tensor(CLIP_MEAN, dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
    difference = xdog.difference(rgb_to_grayscale((image - mean) / std))
    response = torch.where(difference >= xdog.epsilon, 1 + torch.tanh(xdog.phi * difference),
                           torch.ones_like(difference))
    marked = torch.zeros_like(response)
    for b in range(image.shape[0]):
        low, high = response[b].min(), response[b].max()
        if float(high - low) > 0:
            scaled = (response[b, 0] - low) / (high - low)
            marked[b, 0] = (~otsu_threshold(scaled, return_mask=True)[0].bool()).to(response.dtype)
    return marked


def gaussian_blur(gray: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of ``[B, 1, H, W]`` with ``sigma`` pixels (kernel ±3σ, borders replicated)."""
    size = 2 * int(round(3 * sigma)) + 1
    return gaussian_blur2d(gray, (size, size), (sigma, sigma), border_type="replicate")


def upsample_attention(patch_attention: torch.Tensor, size: int) -> torch.Tensor:
    """``[B, g, g]`` patch attention to a ``[B, 1, size, size]`` map scaled to 0..1 (bicubic, clamped at 0)."""
    upsampled = F.interpolate(patch_attention.unsqueeze(1), size=(size, size), mode="bicubic", align_corners=False)
    upsampled = upsampled.clamp_min(0)
    peak = upsampled.flatten(1).amax(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
    return upsampled / peak


def salient_distribution(saliency: torch.Tensor, temperature: float = SOFTMAX_TEMPERATURE) -> torch.Tensor:
    """Sampling probabilities ``[H * W]`` from a saliency map ``[H, W]`` (>= 0): a softmax with ``temperature``
    over the positive pixels (scaled to a maximum of 1); pixels at zero get nothing, unless all are zero, in
    which case every pixel is equally likely."""
    flat = saliency.reshape(-1).float()
    positive = flat > 0
    if not bool(positive.any()):
        return torch.full_like(flat, 1 / flat.numel())
    logits = torch.where(positive, flat / flat.max() / temperature, torch.full_like(flat, float("-inf")))
    return torch.softmax(logits, dim=0)


def sample_start_points(
    saliency: torch.Tensor, count: int, generator: torch.Generator
) -> torch.Tensor:
    """``count`` distinct pixel centres ``[count, 2]`` (x, y in pixels) drawn from :func:`salient_distribution`
    of ``saliency [H, W]``; when fewer pixels are salient than strokes, the rest come from the whole canvas."""
    height, width = saliency.shape
    probabilities = salient_distribution(saliency)
    available = int((probabilities > 0).sum())
    if available < count:  # too few salient pixels: let every pixel in, far below the salient ones
        probabilities = probabilities + 1e-6 / probabilities.numel()
    index = torch.multinomial(probabilities.cpu(), count, replacement=False, generator=generator)
    return torch.stack([index % width, index // width], dim=1).float() + 0.5


def initial_points(
    saliency: torch.Tensor, count: int, seeds: list[int], canvas_size: int
) -> torch.Tensor:
    """Control points ``[len(seeds), count, 4, 2]`` (pixels): per seed, start points sampled from ``saliency
    [H, W]`` and chained offsets of at most ``CHAIN_STEP × canvas_size`` pixels; each seed is reproducible on its
    own, whatever else is in the batch."""
    if count == 0:
        return torch.zeros(len(seeds), 0, 4, 2)
    batches = []
    for seed in seeds:
        generator = torch.Generator().manual_seed(int(seed))
        starts = sample_start_points(saliency.cpu(), count, generator)
        batches.append(chained_points(starts, CHAIN_STEP * canvas_size, generator))
    return torch.stack(batches)


def initial_route(saliency: torch.Tensor, count: int, seeds: list[int]) -> torch.Tensor:
    """One continuous line of ``count`` straight cubic segments per seed, ``[len(seeds), count, 4, 2]`` (pixels):
    ``count + 1`` start points sampled from ``saliency [H, W]`` as :func:`initial_points` samples them, visited
    in a short route (from the leftmost, always to the nearest not yet visited), each segment's inner control
    points at its thirds, each segment starting where the one before it ends."""
    thirds = torch.tensor([0.0, 1 / 3, 2 / 3, 1.0]).view(1, 4, 1)
    lines = []
    for seed in seeds:
        generator = torch.Generator().manual_seed(int(seed))
        stops = sample_start_points(saliency.cpu(), count + 1, generator)
        route = [int(torch.argmin(stops[:, 0]))]
        left = set(range(len(stops))) - set(route)
        while left:
            here = stops[route[-1]]
            nearest = min(left, key=lambda k: float((stops[k] - here).square().sum()))
            route.append(nearest)
            left.remove(nearest)
        ordered = stops[route]
        begin, end = ordered[:-1, None], ordered[1:, None]
        lines.append(begin + (end - begin) * thirds)
    return torch.stack(lines)
