"""What one request may ask for at most: the product's limits, which a server enforces and the CLI applies too, so
that a job that runs here also runs there (no torch: cheap to import). They are narrower than the engine's own
bounds (:data:`~clipsketch.core.options.ENGINE_MAX_STROKES` …). A request beyond them is refused with an
:class:`~clipsketch.core.options.OptionError` that names the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clipsketch.core.options import ENGINE_MAX_ITERATIONS, ENGINE_MAX_SEEDS, ENGINE_MAX_STROKES, OptionError

MAX_PHOTO_BYTES = 32 * 2**20
"""Largest encoded photo accepted, bytes."""

MAX_PHOTO_PIXELS = 40_000_000
"""Largest decoded photo accepted (width × height); bigger ones are refused before they are decoded."""


@dataclass(frozen=True)
class Limits:
    """Photo size (encoded bytes, decoded pixels), stroke counts, iterations and seeds one request may ask for."""

    max_photo_bytes: int = MAX_PHOTO_BYTES
    max_photo_pixels: int = MAX_PHOTO_PIXELS
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
            raise OptionError("photo", "photo is empty: send the encoded image bytes")
        if size > self.max_photo_bytes:
            raise OptionError("photo", f"photo is {size} bytes, more than the limit of {self.max_photo_bytes}")

    def check(self, strokes: Sequence[int], iterations: int | None, seeds: int | None) -> None:
        """Raise OptionError naming the first field out of its range (None: the schedule's, not checked)."""
        if len(strokes) > self.max_stroke_counts:
            raise OptionError("strokes", f"{len(strokes)} stroke counts asked, the limit is {self.max_stroke_counts}")
        for count in strokes:
            if not 1 <= count <= self.max_strokes:
                raise OptionError("strokes", f"stroke count must be between 1 and {self.max_strokes}, got {count}")
        if iterations is not None and not 1 <= iterations <= self.max_iterations:
            raise OptionError("iterations", f"iterations must be between 1 and {self.max_iterations}, got "
                                            f"{iterations}")
        if seeds is not None and not 1 <= seeds <= self.max_seeds:
            raise OptionError("seeds", f"seeds must be between 1 and {self.max_seeds}, got {seeds}")
