"""Reading an <image>'s picture: data URIs, and linked files as Inkscape hands them over (rewritten against its
temporary copy's folder), relative to the document, absolute, file:// — with spaces and non-ASCII names; and the
picture's size as drawn, read from its headers (Inkscape's Python has no imaging library) as Pillow reads it."""

from __future__ import annotations

import base64
import io
import urllib.parse
from pathlib import Path

import pytest
from PIL import Image

from clipsketch_inkscape.pictures import PictureUnavailable, picture_size, read_picture


@pytest.fixture
def picture(tmp_path, chelsea) -> Path:
    folder = tmp_path / "my drawings" / "img"
    folder.mkdir(parents=True)
    path = folder / "chat é.jpg"
    Image.fromarray(chelsea).save(path)
    return path


def test_relative_href_as_inkscape_rewrites_it_against_its_temporary_copy(tmp_path, picture):
    """Inkscape copies the document to /tmp/ink_ext_XXXX.svg and writes ``home/…/img/chat%20%C3%A9.jpg``."""
    copy_folder = tmp_path / "tmp"
    copy_folder.mkdir()
    href = urllib.parse.quote("../" + str(picture.relative_to(tmp_path)))
    document_folder = picture.parent  # the document sits beside the picture
    assert not (document_folder / urllib.parse.unquote(href)).exists()  # the doubled folder of the bug
    assert read_picture(href, [copy_folder, document_folder]) == picture.read_bytes()
    with pytest.raises(PictureUnavailable):
        read_picture(href, [document_folder])


@pytest.mark.parametrize("form", ["plain", "percent-encoded"])
def test_relative_href_against_the_documents_folder(picture, form):
    href = "img/chat é.jpg" if form == "plain" else "img/chat%20%C3%A9.jpg"
    assert read_picture(href, ["/nonexistent-folder", picture.parent.parent]) == picture.read_bytes()


def test_absolute_and_file_urls(picture):
    assert read_picture(str(picture), []) == picture.read_bytes()
    assert read_picture(picture.as_uri(), []) == picture.read_bytes()  # file:///…/chat%20%C3%A9.jpg
    assert read_picture("file://localhost" + urllib.parse.quote(str(picture)), []) == picture.read_bytes()


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "WEBP"])
def test_embedded_pictures(chelsea, kind):
    buffer = io.BytesIO()
    Image.fromarray(chelsea).save(buffer, kind)
    href = f"data:image/{kind.lower()};base64,{base64.b64encode(buffer.getvalue()).decode()}"
    data = read_picture(href, [])
    assert data == buffer.getvalue() and Image.open(io.BytesIO(data)).size == (451, 300)
    # Inkscape may fold long base64 lines
    folded = href[:100] + "\n" + href[100:]
    assert read_picture(folded, []) == buffer.getvalue()


@pytest.mark.parametrize(
    "href, message",
    [
        ("", "no href"),
        ("data:image/png;base64,@@@", "not valid base64"),
        ("https://example.org/cat.jpg", "not a file on this computer"),
        ("file://otherhost/cat.jpg", "another computer"),
        ("gone.png", "does not exist"),
    ],
)
def test_unusable_hrefs_are_named(tmp_path, href, message):
    with pytest.raises(PictureUnavailable, match=message):
        read_picture(href, [tmp_path])


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"])
@pytest.mark.parametrize("orientation", [None, 1, 3, 6, 8])
def test_picture_size_is_pillows_size_as_drawn(chelsea, kind, orientation):
    """What Pillow (the server) draws after its EXIF transpose: a quarter turn (6, 8) swaps width and height."""
    from PIL import ImageOps

    extra = {}
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation
        extra["exif"] = exif.tobytes()
    buffer = io.BytesIO()
    Image.fromarray(chelsea[:37, :53]).save(buffer, kind, **extra)
    drawn = ImageOps.exif_transpose(Image.open(io.BytesIO(buffer.getvalue())))
    assert picture_size(buffer.getvalue()) == drawn.size


@pytest.mark.parametrize("data", [b"", b"not a picture", b"\x89PNG\r\n\x1a\n" + b"\0" * 4, b"\xff\xd8\xff"])
def test_picture_size_of_what_is_no_picture_is_named(data):
    with pytest.raises(PictureUnavailable, match="cannot be read as an image"):
        picture_size(data)
