"""What the pipeline yields while it sketches and what it returns: events and results.

``Engine.events`` yields :class:`Started`, then :class:`Progress` per iteration, :class:`CountDone` per stroke
count and :class:`Finished`; the CLI draws a progress bar from them and the server streams them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from clipsketch.core.frame import Frame
from clipsketch.core.optimize import Step
from clipsketch.core.strokes import Strokes


@dataclass
class CountResult:
    """The winning sketch for one stroke count: ``strokes`` (batch of one, canvas pixels), ``svg`` (photo
    coordinates), its evaluation ``loss`` (fp32, unaugmented) and ``seed``, ``history`` of (iteration, evaluation
    loss) of that seed, the best loss of every seed, the ``frame`` that maps the strokes onto the photo, and the
    steps the winning seed ran (``iterations_run``: fewer than asked when it converged or the job finished early);
    ``joined``: the strokes are one continuous line (a one-line sketch: one path)."""

    count: int
    strokes: Strokes
    frame: Frame
    svg: str
    loss: float
    seed: int
    history: list[tuple[int, float]]
    seed_losses: dict[int, float]
    iterations_run: int
    schedule: str
    joined: bool = False


@dataclass
class SketchResult:
    """All stroke counts of one photo, with what the run used: ``canvas`` ``[1, 3, S, S]`` the framed (and
    masked) photo, ``saliency`` ``[S, S]``, ``frame`` canvas → photo pixels."""

    sketches: dict[int, CountResult]
    canvas: torch.Tensor
    saliency: torch.Tensor
    frame: Frame
    backbone: str
    saliency_source: str
    mask_used: bool
    device: str


@dataclass
class Started:
    device: str
    backbone: str
    saliency_source: str
    mask_used: bool
    notes: list[str]
    frame: Frame


@dataclass
class Progress:
    count: int
    step: Step


@dataclass
class CountDone:
    result: CountResult


@dataclass
class Finished:
    result: SketchResult


Event = Started | Progress | CountDone | Finished
