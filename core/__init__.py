"""The sketching engine: plain PyTorch, no gRPC, no Inkscape.

- :mod:`~clipsketch.core.options`: the request contract (validated, resolved once; no torch), with
  :mod:`~clipsketch.core.schedules` and :mod:`~clipsketch.core.limits`;
- :mod:`~clipsketch.core.engine`: models, device and precision; :mod:`~clipsketch.core.sketch`: the pipeline;
  :mod:`~clipsketch.core.events`: what it yields and returns;
- :mod:`~clipsketch.core.optimize`: the optimisation loop;
- :mod:`~clipsketch.core.strokes`: the stroke tensors and their shapes;
- :mod:`~clipsketch.core.raster`: the differentiable rasterizer (strokes → image);
- :mod:`~clipsketch.core.frame`: the mapping between the square canvas and the photo's rectangle;
- :mod:`~clipsketch.core.svg`: strokes ⇄ SVG documents.

The names in ``__all__`` are the engine's public API, importable from here. They load on first use, so that
importing the contract (``clipsketch.core.options``) still imports no torch.
"""

import importlib

_PUBLIC = {
    "options": ("SketchOptions", "StartStrokes", "OptionError", "SketchPlan"),
    "limits": ("Limits",),
    "engine": ("Engine",),
    "events": ("Started", "Progress", "CountDone", "Finished", "CountResult", "SketchResult"),
    "optimize": ("SketchCancelled",),
    "photo": ("load_photo", "load_photo_within", "PhotoError"),
    "mask": ("MaskUnavailable",),
    "backbones": ("WeightsUnavailable",),
    "strokes": ("Strokes",),
    "frame": ("Frame",),
    "svg": ("strokes_to_svg", "svg_to_strokes", "svg_to_start_strokes", "SvgError"),
    "animate": ("animated_svg",),
    "render": ("render_in_frame", "contact_sheet"),
}
_HOME = {name: module for module, names in _PUBLIC.items() for name in names}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
