"""The stroke counts a sketch gets when it asks for none, and what it may ask for at most (no torch: cheap to
import). Iterations and seeds default to the schedule's (:mod:`~clipsketch.core.schedules`).

The defaults are the one place the CLI, the server and the engine take them from. A request beyond the limits
is refused with a message that names the field (the server answers INVALID_ARGUMENT, the CLI exits with status
2). The engine's own bounds (``ENGINE_MAX_*``) are wider; :class:`Limits` are the product's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_STROKES = (16,)

ENGINE_MAX_STROKES = 512
ENGINE_MAX_SEEDS = 32
ENGINE_MAX_ITERATIONS = 100_000


@dataclass(frozen=True)
class Limits:
    """Photo size (encoded bytes, decoded pixels), stroke counts, iterations and seeds one request may ask for."""

    max_photo_bytes: int = 32 * 2**20
    max_photo_pixels: int = 40_000_000
    max_strokes: int = 256
    max_stroke_counts: int = 8
    max_iterations: int = 10_000
    max_seeds: int = 8

    def __post_init__(self) -> None:
        if (self.max_strokes > ENGINE_MAX_STROKES or self.max_iterations > ENGINE_MAX_ITERATIONS
                or self.max_seeds > ENGINE_MAX_SEEDS):
            raise ValueError(f"limits exceed the engine's: {ENGINE_MAX_STROKES} strokes, {ENGINE_MAX_ITERATIONS} "
                             f"iterations, {ENGINE_MAX_SEEDS} seeds")

    def check_photo_bytes(self, size: int) -> None:
        if size <= 0:
            raise ValueError("photo is empty: send the encoded image bytes")
        if size > self.max_photo_bytes:
            raise ValueError(f"photo is {size} bytes, more than the limit of {self.max_photo_bytes}")

    def check(self, strokes: Sequence[int], iterations: int | None, seeds: int | None) -> None:
        """Raise ValueError naming the first field out of its range (None: the schedule's, not checked)."""
        if len(strokes) > self.max_stroke_counts:
            raise ValueError(f"{len(strokes)} stroke counts asked, the limit is {self.max_stroke_counts}")
        for count in strokes:
            if not 1 <= count <= self.max_strokes:
                raise ValueError(f"stroke count must be between 1 and {self.max_strokes}, got {count}")
        if iterations is not None and not 1 <= iterations <= self.max_iterations:
            raise ValueError(f"iterations must be between 1 and {self.max_iterations}, got {iterations}")
        if seeds is not None and not 1 <= seeds <= self.max_seeds:
            raise ValueError(f"seeds must be between 1 and {self.max_seeds}, got {seeds}")

    @staticmethod
    def check_width(width: float, photo_size: tuple[int, int]) -> None:
        """A stroke width in photo pixels: positive, finite, at most a quarter of the photo's longer side."""
        longest = max(photo_size)
        if not 0 < width <= longest / 4:
            raise ValueError(f"stroke width must be > 0 and at most {longest / 4:g} photo pixels (a quarter of the "
                             f"photo's longer side), got {width}")
