"""Which photos a batch sketches, and where each one's outputs go.

An input is a photo file, a folder (searched recursively) or a glob (``photos/**/*.jpg``); ``-`` reads one path
per line from stdin. Outputs mirror the input tree: a folder's or a glob's photos keep their path below it
(``photos/sub/cat.jpg`` → ``OUT/sub/cat-16-strokes.svg``), a photo named on its own keeps only its name.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TextIO

from clipsketch.outputs import sketch_file

PHOTO_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif"})
"""What a folder or glob contributes (case-insensitive); a file named on its own is taken whatever its name."""

_GLOB_MAGIC = frozenset("*?[")


@dataclass(frozen=True)
class Photo:
    """A photo to sketch: ``path`` where it is read, ``relative`` its place in the output tree (POSIX, suffix
    kept: the manifest's name for it)."""

    path: Path
    relative: PurePosixPath

    def output(self, count: int, suffix: str = ".svg") -> PurePosixPath:
        """The output for ``count`` strokes, relative to the output folder."""
        return sketch_file(self.place, count, suffix)

    @property
    def place(self) -> PurePosixPath:
        """Where its outputs go, relative to the output folder: its path there without suffix."""
        return self.relative.with_suffix("")


def collect(inputs: Sequence[str], stdin: TextIO | None = None, exclude: Path | None = None,
            must_match: bool = True, check_outputs: bool = True) -> list[Photo]:
    """The photos ``inputs`` name, in order, each once. ``exclude``: a folder to leave out (the output folder);
    ``must_match``: a glob that matches nothing is an error (not when watching for photos to come). Raises
    ValueError for an input that names nothing, and (``check_outputs``) for two photos whose outputs would
    collide (see :func:`collision`)."""
    photos: dict[PurePosixPath, Photo] = {}
    seen: set[Path] = set()
    for photo in _expand(inputs, stdin, exclude.resolve() if exclude else None, must_match):
        resolved = photo.path.resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        key = photo.relative.with_suffix("") if check_outputs else photo.relative
        if key in photos:
            raise ValueError(collision(photos[key], photo))
        photos[key] = photo
    return list(photos.values())


def collision(first: Photo, second: Photo) -> str:
    """What to say when ``second`` would write ``first``'s outputs (same place, same name but the suffix)."""
    return (f"{first.path} and {second.path} would write the same outputs "
            f"({second.output(0).name.replace('-0-', '-N-')}): rename one, or give their folder")


def _expand(inputs: Sequence[str], stdin: TextIO | None, exclude: Path | None, must_match: bool) -> Iterable[Photo]:
    for given in inputs:
        if given == "-":
            if stdin is None:
                raise ValueError("'-' reads photo paths from stdin, but there is none")
            for line in stdin:
                if line.strip():
                    yield _single(line.strip())
        elif _GLOB_MAGIC & set(given):
            root = _glob_root(given)
            matches = sorted(Path(m) for m in glob.glob(given, recursive=True))
            found = [m for m in matches if m.is_file() and _is_photo(m) and not _inside(m, exclude)]
            if not found and must_match:
                raise ValueError(f"no photos match {given!r}")
            yield from (Photo(m, _relative(m, root)) for m in found)
        elif Path(given).is_dir():
            yield from walk(Path(given), exclude)
        elif Path(given).is_file():
            yield _single(given)
        else:
            raise ValueError(f"no such photo or folder: {given}")


def walk(folder: Path, exclude: Path | None = None) -> Iterable[Photo]:
    """The photos below ``folder`` in sorted order, hidden files and folders and ``exclude`` left out."""
    for directory, folders, files in os.walk(folder):
        folders[:] = sorted(f for f in folders if not f.startswith(".")
                            and not _inside(Path(directory, f), exclude))
        for name in sorted(files):
            path = Path(directory, name)
            if not name.startswith(".") and _is_photo(path):
                yield Photo(path, _relative(path, folder))


def _single(given: str) -> Photo:
    path = Path(given)
    if not path.is_file():
        raise ValueError(f"no such photo: {given}")
    return Photo(path, PurePosixPath(path.name))


def _glob_root(pattern: str) -> Path:
    """The folder above a glob's first wildcard."""
    parts = Path(pattern).parts
    fixed = parts[:next(k for k, part in enumerate(parts) if _GLOB_MAGIC & set(part))]
    return Path(*fixed) if fixed else Path(".")


def _relative(path: Path, root: Path) -> PurePosixPath:
    return PurePosixPath(path.relative_to(root).as_posix())


def _is_photo(path: Path) -> bool:
    return path.suffix.lower() in PHOTO_SUFFIXES


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and path.resolve().is_relative_to(folder)


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()
