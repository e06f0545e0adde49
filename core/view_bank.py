"""Seeded augmentation draws, and a bank of them whose photo views are seen by the backbone once.

kornia draws augmentation parameters from torch's global generator. :func:`seeded_draws` swaps in a sketch's own
generator state for a draw, under a lock, so sketches running at once in threads neither see nor move each
other's draws (their results equal those of a run alone), and the caller's generator is left untouched.

Every step compares the sketches with the photo in freshly augmented views, and the photo's views cost a backbone
forward per step (a fifth of a step with RN101 on a CPU). A :class:`ViewBank` draws ``P`` augmentations once per
photo, keeps the generator state before each draw and the photo's taps under it; a step then replays one of those
states, so the sketches get exactly the parameters the banked photo views were made with, and takes the photo's
taps from the bank. The fast schedule uses one; the reference schedule draws afresh every step, as CLIPasso does.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

from clipsketch.core.backbones import Taps

_GLOBAL_RNG = threading.Lock()


@contextlib.contextmanager
def seeded_draws(state: torch.Tensor) -> Iterator[Callable[[], torch.Tensor]]:
    """Within the block, torch's global CPU generator starts at ``state`` (others are locked out); yields a
    function returning the generator's current state (to carry on from there next time)."""
    with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):
        torch.set_rng_state(state)
        yield torch.get_rng_state


@dataclass
class ViewBank:
    """``states [P]``: the generator state before each of ``P`` draws of ``views`` augmented views; ``taps``: the
    photo's taps under those draws, ``[P × views, …]`` (draw-major); a layer the loss does not weigh is kept
    empty (``[P × views, 0]``: it would only hold memory)."""

    states: list[torch.Tensor]
    taps: Taps
    views: int

    def __len__(self) -> int:
        return len(self.states)

    def photo_taps(self, draw: int) -> Taps:
        """The photo's taps ``[views, …]`` of draw number ``draw``."""
        rows = slice(draw * self.views, (draw + 1) * self.views)
        return Taps([layer[rows] for layer in self.taps.layers], self.taps.embedding[rows])


def draw_view_bank(photo: torch.Tensor, augmentation: nn.Module, views: int, draws: int, seed: int,
                   backbone: nn.Module, autocast: Callable[[], contextlib.AbstractContextManager],
                   layer_weights: tuple[float, ...] | None = None, batch: int = 8) -> ViewBank:
    """Draw ``draws`` times ``views`` augmented views of ``photo [1, 3, S, S]`` (0..1) from a generator seeded with
    ``seed`` and run ``backbone`` on them without gradients, ``batch`` images at a time; the layers whose
    ``layer_weights`` are 0 are not kept (None: all are)."""
    if views < 1 or draws < 1:
        raise ValueError(f"a view bank needs views and draws >= 1, got {views} and {draws}")
    state = torch.Generator().manual_seed(seed).get_state()
    states, images = [], []
    for _ in range(draws):
        states.append(state)
        with seeded_draws(state) as current:
            images.append(augmentation(photo.expand(views, -1, -1, -1)))
            state = current()
    images = torch.cat(images)
    parts = []
    with torch.no_grad(), autocast():
        for first in range(0, images.shape[0], batch):
            parts.append(_weighed_layers(backbone(images[first : first + batch]), layer_weights))
    taps = Taps([torch.cat(layers) for layers in zip(*(p.layers for p in parts))],
                torch.cat([p.embedding for p in parts]))
    return ViewBank(states, taps, views)


def _weighed_layers(taps: Taps, layer_weights: tuple[float, ...] | None) -> Taps:
    """``taps`` with every layer of weight 0 emptied to ``[B, 0]`` (None: all kept)."""
    if layer_weights is None:
        return taps
    return Taps([layer if weight else layer.new_empty(len(layer), 0)
                 for weight, layer in zip(layer_weights, taps.layers)], taps.embedding)
