"""Reading an <image>'s picture: data URIs, and linked files as Inkscape hands them over (rewritten against its
temporary copy's folder), relative to the document, absolute, file:// — with spaces and non-ASCII names."""

from __future__ import annotations

import base64
import io
import urllib.parse
from pathlib import Path

import pytest
from PIL import Image

from clipsketch.inkscape_extension.pictures import PictureUnavailable, read_picture


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
