"""The Inkscape effect's work: sketch each selected image on the clipsketch server, add the strokes as layers.

The inkex glue is the entry script ``clipsketch_sketch.py`` (its ``Sketch`` class declares the parameters); once it
has handed over to the clipsketch environment, ``Sketch.effect`` calls :func:`sketch_selection`. For every selected
``<image>`` (embedded ``data:`` URI or linked file), it streams a job from the server and inserts one layer per
stroke count, "Sketch – 16 strokes", holding real ``<path>`` elements placed exactly over the image (its box,
``preserveAspectRatio`` and composed transform baked into the coordinates); the stroke width is the one asked
for, in document units. The rest of the document is untouched. Failures end with ``inkex.AbortExtension``.
"""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path

import grpc
import inkex
from lxml import etree
from PIL import Image

from clipsketch.client import ServerError, SketchClient, is_loopback
from clipsketch.inkscape_extension.placement import (
    IDENTITY,
    Affine,
    compose,
    photo_to_box,
    transform_path_data,
)

SERVER_START_SECONDS = 180


class SketchCancelledByUser(Exception):
    pass


def sketch_selection(extension: inkex.EffectExtension) -> None:
    """Do the effect for ``extension`` (its ``svg``, ``options`` and ``svg_path()``)."""
    SelectionSketcher(extension).effect()


class SelectionSketcher:
    def __init__(self, extension: inkex.EffectExtension):
        self.svg = extension.svg
        self.options = extension.options
        self.svg_path = extension.svg_path

    def effect(self) -> None:
        counts = parse_counts(self.options.strokes)
        if not self.svg.selection:
            raise inkex.AbortExtension("Nothing is selected: select one or more images (raster pictures) first.")
        images = [element for element in self.svg.selection.values() if isinstance(element, inkex.Image)]
        if not images:
            raise inkex.AbortExtension("The selection holds no image: select a raster picture (an <image>).")
        photos = [(image, self.photo_bytes(image)) for image in images]
        client = self.connect()
        try:
            for image, photo in photos:
                self.sketch_image(client, image, photo, counts)
        finally:
            client.close()

    # --- the image ---------------------------------------------------------------------------------------------

    def photo_bytes(self, image: inkex.Image) -> bytes:
        """The encoded picture of ``image``: its data URI, or the linked file (relative to the document)."""
        href = image.get("xlink:href") or image.get("href") or ""
        label = image.get_id()
        if href.startswith("data:"):
            header, _, payload = href.partition(",")
            try:
                return base64.b64decode(payload) if ";base64" in header else urllib.parse.unquote_to_bytes(payload)
            except ValueError:
                raise inkex.AbortExtension(f"Image {label}: its embedded data is not valid base64.") from None
        if not href:
            raise inkex.AbortExtension(f"Image {label} has no picture (no href).")
        path = Path(urllib.parse.unquote(href[7:] if href.startswith("file://") else href)).expanduser()
        if not path.is_absolute():
            folder = self.svg_path() or os.getcwd()
            path = Path(folder) / path
        try:
            return path.read_bytes()
        except OSError as error:
            raise inkex.AbortExtension(f"Image {label}: cannot read the linked file {path} ({error.strerror}).") \
                from None

    def placement(self, image: inkex.Image, photo_size: tuple[int, int]) -> Affine:
        """Photo pixels → document user units for ``image``."""
        box = tuple(self.svg.unittouu(image.get(name) or "0") for name in ("x", "y", "width", "height"))
        if box[2] <= 0 or box[3] <= 0:  # no size given: the picture's own pixel size (as SVG says)
            box = (box[0], box[1], float(photo_size[0]), float(photo_size[1]))
        return compose(composed_transform(image), photo_to_box(photo_size, box, image.get("preserveAspectRatio")))

    # --- the server --------------------------------------------------------------------------------------------

    def connect(self) -> SketchClient:
        """A client of a serving server; starts a local one if allowed and nothing listens."""
        address = self.options.server.strip()
        client = SketchClient(address)
        try:
            client.info()
            return client
        except ServerError as error:
            if error.code != grpc.StatusCode.UNAVAILABLE:
                client.close()
                raise inkex.AbortExtension(f"The clipsketch server at {address} refused: {error}") from None
        if not (self.options.start_server and is_loopback(address)):
            client.close()
            raise inkex.AbortExtension(
                f"No clipsketch server answers at {address}. Start one with `clipsketch serve --listen {address}` "
                "(or `clipsketch service install`), or tick 'Start a local server'.")
        self.start_server(address)
        try:
            client.wait_until_serving(SERVER_START_SECONDS)
        except ServerError as error:
            client.close()
            log = server_log_path()
            raise inkex.AbortExtension(f"Started `clipsketch serve` at {address}, but it did not become ready: "
                                       f"{error}. See its log: {log}") from None
        return client

    @staticmethod
    def start_server(address: str) -> None:
        log = server_log_path()
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as output:
            subprocess.Popen([sys.executable, "-m", "clipsketch.cli", "serve", "--listen", address],
                             stdin=subprocess.DEVNULL, stdout=output, stderr=output, start_new_session=True)

    # --- one image ---------------------------------------------------------------------------------------------

    def sketch_image(self, client: SketchClient, image: inkex.Image, photo: bytes, counts: list[int]) -> None:
        try:
            size = Image.open(io.BytesIO(photo)).size
        except Exception:  # PIL raises many types for unreadable data
            raise inkex.AbortExtension(f"Image {image.get_id()}: the picture cannot be read as an image.") from None
        affine = self.placement(image, size)
        request_id = uuid.uuid4().hex
        request = dict(strokes=counts, iterations=self.options.iterations, seeds=self.options.seeds,
                       mask=self.options.mask, stroke_color=str(self.options.stroke_color.to_rgb()),
                       preview_every=10, request_id=request_id)
        window = open_progress_window(self.options.show_progress, image.get_id())
        results = []
        try:
            events = client.events(photo, **request)
            for event in (window.run(events, client, request_id) if window else events):
                if event.HasField("result"):
                    results.append(event.result)
        except SketchCancelledByUser:
            raise inkex.AbortExtension("Cancelled: no sketch was added.") from None
        except ServerError as error:
            if error.code == grpc.StatusCode.CANCELLED:
                raise inkex.AbortExtension(f"The sketch was cancelled ({error}); nothing was added.") from None
            raise inkex.AbortExtension(f"The clipsketch server refused the sketch: {error}") from None
        width = self.svg.unittouu(f"{self.options.stroke_width}px")
        for result in results:
            self.add_layer(image, result, affine, width)

    def add_layer(self, image: inkex.Image, result, affine: Affine, width: float) -> None:
        layer = self.svg.add(inkex.Layer.new(f"Sketch – {result.strokes} strokes"))
        layer.set("id", self.svg.get_unique_id(f"sketch-{result.strokes}-"))
        for index, path in enumerate(result.paths):
            element = inkex.PathElement.new(path=transform_path_data(path.d, affine))
            element.set("id", self.svg.get_unique_id(f"{image.get_id()}-stroke-"))
            element.style = inkex.Style({
                "fill": "none", "stroke": path.color, "stroke-width": f"{width:.4g}",
                "stroke-opacity": f"{path.opacity:.3g}", "stroke-linecap": "round", "stroke-linejoin": "round"})
            layer.add(element)


def composed_transform(element) -> Affine:
    """The element's transform and its ancestors', read from the attributes without rewriting them."""
    affine = IDENTITY
    node = element
    while node is not None:
        text = etree.ElementBase.get(node, "transform")  # inkex's own get() would normalise the attribute
        if text:
            (a, c, e), (b, d, f) = inkex.Transform(text).matrix
            affine = compose((a, b, c, d, e, f), affine)
        node = node.getparent()
    return affine


def parse_counts(text: str) -> list[int]:
    try:
        counts = [int(word) for word in text.replace(",", " ").replace("/", " ").split()]
    except ValueError:
        raise inkex.AbortExtension(f"Stroke counts must be whole numbers like 4,8,16,32; got {text!r}.") from None
    if not counts:
        raise inkex.AbortExtension("Give at least one stroke count, e.g. 16.")
    return counts


def server_log_path() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "clipsketch" / "server.log"


def open_progress_window(wanted: bool, label: str):
    """A Tk progress window when asked for and a display is there; None otherwise (batch runs, tests)."""
    if not wanted or not os.environ.get("DISPLAY"):
        return None
    try:
        from clipsketch.inkscape_extension.progress import ProgressWindow

        return ProgressWindow(f"clipsketch – {label}")
    except Exception:  # no Tk, or no usable display: sketch without a window
        return None
