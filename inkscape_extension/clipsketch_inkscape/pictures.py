"""The encoded picture an ``<image>`` shows: its ``data:`` URI, or the file its href links to.

Inkscape hands an extension a temporary copy of the document and rewrites every relative or ``file://`` href
against that copy's folder (``/tmp/ink_ext_XXXX.svg`` gets ``home/me/doc%20s/img/cat.jpg``); a document read any
other way keeps hrefs relative to its own folder. So a relative href is looked up, in order, in the folders given
(the copy's, then the document's), both as written and percent-decoded.
"""

from __future__ import annotations

import base64
import os
import struct
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path


class PictureUnavailable(Exception):
    """The image's picture cannot be had; the message says why, for the user."""


def image_href(image) -> str:
    """The ``xlink:href`` (SVG 1.1) or ``href`` (SVG 2) of an ``<image>`` element, stripped."""
    return (image.get("xlink:href") or image.get("href") or "").strip()


def read_picture(href: str, folders: Sequence[str | os.PathLike]) -> bytes:
    """The bytes of the picture ``href`` names: decoded ``data:`` URIs, or the linked file (see the module)."""
    if not href:
        raise PictureUnavailable("it has no picture (no href)")
    if href.startswith("data:"):
        header, _, payload = href.partition(",")
        try:
            if ";base64" in header:
                return base64.b64decode("".join(payload.split()), validate=True)
            return urllib.parse.unquote_to_bytes(payload)
        except ValueError:
            raise PictureUnavailable("its embedded data is not valid base64") from None
    candidates = linked_file_candidates(href, folders)
    for path in candidates:
        if path.is_file():
            try:
                return path.read_bytes()
            except OSError as error:
                raise PictureUnavailable(f"cannot read the linked file {path} ({error.strerror})") from None
    raise PictureUnavailable(f"the linked file {href!r} does not exist (looked for "
                             f"{', '.join(str(path) for path in candidates)})")


def picture_size(data: bytes) -> tuple[int, int]:
    """``(width, height)`` in pixels of the picture as drawn (PNG, JPEG, WebP, GIF, BMP, TIFF): EXIF orientations 5
    to 8 (a quarter turn) swap the file's raw size, as Inkscape and the server both apply them. Read from the
    headers: Inkscape's Python has no imaging library."""
    reader = next((read for magic, read in _SIZE_READERS if data.startswith(magic)), None)
    try:
        width, height, exif = reader(data) if reader else (0, 0, None)
        orientation = _tiff_tags(exif, (_ORIENTATION,)).get(_ORIENTATION, 1) if exif else 1
    except (struct.error, IndexError, ValueError):
        width = height = 0
    if width <= 0 or height <= 0:
        raise PictureUnavailable("its picture cannot be read as an image (PNG, JPEG, WebP, GIF, BMP or TIFF)")
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


_ORIENTATION = 0x0112
_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _png(data: bytes):
    width, height = struct.unpack(">II", data[16:24])
    offset, exif = 8, None
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind == b"eXIf":
            exif = data[offset + 8:offset + 8 + length]
        if kind in (b"IDAT", b"IEND"):
            break
        offset += 12 + length
    return width, height, exif


def _jpeg(data: bytes):
    offset, exif = 2, None
    while offset + 4 <= len(data):
        if data[offset] != 0xFF:
            raise ValueError("not a JPEG marker")
        marker = data[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        length = struct.unpack(">H", data[offset + 2:offset + 4])[0]
        segment = data[offset + 4:offset + 2 + length]
        if marker == 0xE1 and segment.startswith(b"Exif\0\0"):
            exif = segment[6:]
        elif marker in _JPEG_FRAMES:
            height, width = struct.unpack(">HH", segment[1:5])
            return width, height, exif
        offset += 2 + length
    return 0, 0, None


def _webp(data: bytes):
    if data[8:12] != b"WEBP":  # another RIFF file (WAV, AVI)
        return 0, 0, None
    width = height = 0
    offset, exif = 12, None
    while offset + 8 <= len(data):
        kind, length = struct.unpack("<4sI", data[offset:offset + 8])
        chunk = data[offset + 8:offset + 8 + length]
        if kind == b"VP8X":
            width = 1 + int.from_bytes(chunk[4:7], "little")
            height = 1 + int.from_bytes(chunk[7:10], "little")
        elif kind == b"VP8 " and not width:
            width, height = (value & 0x3FFF for value in struct.unpack("<HH", chunk[6:10]))
        elif kind == b"VP8L" and not width:
            bits = int.from_bytes(chunk[1:5], "little")
            width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        elif kind == b"EXIF":
            exif = chunk[6:] if chunk.startswith(b"Exif\0\0") else chunk
        offset += 8 + length + (length & 1)
    return width, height, exif


def _gif(data: bytes):
    return (*struct.unpack("<HH", data[6:10]), None)


def _bmp(data: bytes):
    width, height = struct.unpack("<ii", data[18:26])
    return width, abs(height), None


def _tiff(data: bytes):  # the file is a TIFF structure: its first directory has the orientation too
    tags = _tiff_tags(data, (256, 257))
    return tags.get(256, 0), tags.get(257, 0), data


def _tiff_tags(tiff: bytes, wanted: tuple[int, ...]) -> dict[int, int]:
    """The numeric values of the ``wanted`` tags of a TIFF structure's first directory (EXIF is one)."""
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        return {}
    directory = struct.unpack(order + "I", tiff[4:8])[0]
    count = struct.unpack(order + "H", tiff[directory:directory + 2])[0]
    found = {}
    for k in range(count):
        entry = tiff[directory + 2 + 12 * k:directory + 14 + 12 * k]
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag in wanted:
            found[tag] = struct.unpack(order + ("H" if kind == 3 else "I"), entry[8:10] if kind == 3 else entry[8:12])[0]
    return found


_SIZE_READERS = [(b"\x89PNG\r\n\x1a\n", _png), (b"\xff\xd8", _jpeg), (b"GIF87a", _gif), (b"GIF89a", _gif),
                 (b"BM", _bmp), (b"II*\0", _tiff), (b"MM\0*", _tiff), (b"RIFF", _webp)]


def linked_file_candidates(href: str, folders: Sequence[str | os.PathLike]) -> list[Path]:
    """Where the file ``href`` links to may be, most likely first (no duplicates)."""
    scheme = urllib.parse.urlsplit(href).scheme.lower()
    if scheme == "file":
        parts = urllib.parse.urlsplit(href)
        if parts.netloc not in ("", "localhost"):
            raise PictureUnavailable(f"the link {href!r} names a file on another computer ({parts.netloc})")
        return [Path(urllib.request.url2pathname(parts.path))]
    if len(scheme) > 1:  # http:, https:, …; one letter is a Windows drive
        raise PictureUnavailable(f"the link {href!r} is not a file on this computer: embed the picture, or save "
                                 "it and link the file")
    forms = list(dict.fromkeys([href, urllib.parse.unquote(href)]))
    paths = [Path(form).expanduser() for form in forms]
    if any(path.is_absolute() for path in paths):
        return list(dict.fromkeys(path for path in paths if path.is_absolute()))
    found = [Path(folder) / path for folder in folders if folder for path in paths]
    return list(dict.fromkeys(found))
