"""The encoded picture an ``<image>`` shows: its ``data:`` URI, or the file its href links to.

Inkscape hands an extension a temporary copy of the document and rewrites every relative or ``file://`` href
against that copy's folder (``/tmp/ink_ext_XXXX.svg`` gets ``home/me/doc%20s/img/cat.jpg``); a document read any
other way keeps hrefs relative to its own folder. So a relative href is looked up, in order, in the folders given
(the copy's, then the document's), both as written and percent-decoded.
"""

from __future__ import annotations

import base64
import io
import os
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
    """``(width, height)`` in pixels of the picture as drawn: EXIF orientations 5 to 8 (a quarter turn) swap
    the file's raw size, as Inkscape and the server both apply them."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1)
    except Exception:  # PIL raises many types for data it cannot read
        raise PictureUnavailable("its picture cannot be read as an image") from None
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


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
