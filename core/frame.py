"""The mapping between the square working canvas and a target rectangle (usually the photo).

A photo is framed by padding it to a square (centred, with an optional margin) and scaling that square to the
canvas, so nothing is squashed or cut off. :class:`Frame` remembers the mapping back:
``target = canvas * scale + offset``, where canvas coordinates are canvas pixels and target coordinates are the
rectangle's own units (photo pixels). Stroke widths cross the same mapping (:meth:`Frame.to_canvas_width`,
:meth:`Frame.to_target_width`), and only here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from clipsketch.core.options import default_width


@dataclass(frozen=True)
class Frame:
    """``target = canvas * scale + (offset_x, offset_y)`` for a ``width × height`` target and a square canvas of
    ``canvas_size`` pixels; ``scale`` is target units per canvas pixel."""

    width: float
    height: float
    canvas_size: int
    scale: float
    offset_x: float = 0.0
    offset_y: float = 0.0

    def __post_init__(self) -> None:
        for name in ("width", "height", "canvas_size", "scale"):
            value = float(getattr(self, name))
            if not (value > 0 and value != float("inf")):
                raise ValueError(f"frame {name} must be a positive finite number, got {getattr(self, name)}")

    @classmethod
    def identity(cls, canvas_size: int) -> Frame:
        """The canvas itself: target units are canvas pixels."""
        return cls(canvas_size, canvas_size, canvas_size, 1.0)

    @classmethod
    def padded(cls, width: float, height: float, canvas_size: int, margin: float = 0.0) -> Frame:
        """A ``width × height`` rectangle centred in a square of side ``max(width, height) * (1 + 2 * margin)``,
        that square scaled onto the canvas (``margin`` is a fraction of the longer side on every edge)."""
        if margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin}")
        side = max(width, height) * (1 + 2 * margin)
        return cls(width, height, canvas_size, side / canvas_size, (width - side) / 2, (height - side) / 2)

    @classmethod
    def around(cls, width: float, height: float, box: tuple[float, float, float, float], canvas_size: int,
               margin: float = 0.0) -> Frame:
        """A square window on a ``width × height`` target around ``box`` (left, top, right, bottom in target
        units), scaled onto the canvas: its side is the box's longer side with ``margin`` (a fraction of it) on
        every edge; centred on the box, and moved inside the target along each axis the target is longer than the
        side (centred on the target along one it is not, as :meth:`padded` pads)."""
        if margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin}")
        left, top, right, bottom = box
        side = max(right - left, bottom - top) * (1 + 2 * margin)
        if not side > 0:
            raise ValueError(f"box must have an area, got {box}")

        def start(low: float, high: float, extent: float) -> float:
            if side >= extent:
                return (extent - side) / 2
            return min(max((low + high - side) / 2, 0.0), extent - side)

        return cls(width, height, canvas_size, side / canvas_size, start(left, right, width),
                   start(top, bottom, height))

    def to_target(self, points: torch.Tensor) -> torch.Tensor:
        """Canvas pixels ``[..., 2]`` to target coordinates ``[..., 2]``."""
        offset = torch.tensor([self.offset_x, self.offset_y], dtype=points.dtype, device=points.device)
        return points * self.scale + offset

    def to_canvas(self, points: torch.Tensor) -> torch.Tensor:
        """Target coordinates ``[..., 2]`` to canvas pixels ``[..., 2]``."""
        offset = torch.tensor([self.offset_x, self.offset_y], dtype=points.dtype, device=points.device)
        return (points - offset) / self.scale

    def to_canvas_width(self, width):
        """Stroke widths in target units (photo pixels; a number or a tensor) as canvas pixels; None: the default
        width (:func:`~clipsketch.core.options.default_width`, 3 px per 224 canvas pixels)."""
        return default_width(self.canvas_size) if width is None else width / self.scale

    def to_target_width(self, width):
        """Stroke widths in canvas pixels (a number or a tensor) as target units (photo pixels)."""
        return width * self.scale


def reframed(points: torch.Tensor, widths: torch.Tensor, source: Frame, target: Frame) -> tuple[torch.Tensor,
                                                                                                  torch.Tensor]:
    """Strokes on ``source``'s canvas (points ``[..., 2]``, widths any shape; canvas pixels) on ``target``'s canvas,
    a frame of the same photo: a sketch drawn on a window around a small subject shown on the whole photo's
    square (:meth:`Frame.padded`), say."""
    return target.to_canvas(source.to_target(points)), target.to_canvas_width(source.to_target_width(widths))
