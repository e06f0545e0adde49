"""The Inkscape effect's work: sketch each selected image on the clipsketch server, add the strokes as layers.

The inkex glue is the entry script ``clipsketch_sketch.py`` (its ``Sketch`` class declares the parameters);
``Sketch.effect`` calls :func:`sketch_selection`. For every selected ``<image>`` (embedded ``data:`` URI or linked
file, see :mod:`.pictures`), it streams a job from the server and inserts one layer per stroke count,
"Sketch – <image> – 16 strokes", holding real ``<path>`` elements placed exactly over the image (see
:mod:`.placement`); the stroke width asked for (px of the page) is sent to the server in photo pixels, so the sketch
is optimised at the width it is drawn. The rest of the document is untouched. Failures end with
``inkex.AbortExtension``: one message for the user, a non-zero exit status.
"""

from __future__ import annotations

import os
import socket
import uuid

import inkex

from . import sketch_pb2 as pb
from .addresses import AddressError, is_loopback, read_token_file, split_address
from .errors import SketchCancelledByUser
from .local_server import HANDSHAKE_SECONDS, START_SECONDS, LocalServerFailed, start_local_server
from .pictures import PictureUnavailable, image_href, picture_size, read_picture
from .lines import tapered_path
from .placement import photo_scale, photo_to_document, place_path
from .progress import open_progress_window
from .rpc import ServerError, SketchClient, Status
from .strokes import UnreadablePath, start_strokes_from_paths


def sketch_selection(extension: inkex.EffectExtension) -> None:
    """Do the effect for ``extension`` (its ``svg``, ``options`` and ``svg_path()``): Abstract sketch, or Refine
    sketch when ``options.action`` is ``refine``."""
    sketcher = SelectionSketcher(extension)
    if getattr(extension.options, "action", "sketch") == "refine":
        sketcher.refine()
    else:
        sketcher.effect()


class SelectionSketcher:
    def __init__(self, extension: inkex.EffectExtension):
        self.svg = extension.svg
        self.options = extension.options
        # where linked pictures are looked for: Inkscape's temporary copy's folder (it rewrites relative hrefs
        # against it), then the document's own folder, then the working directory
        copy = self.options.input_file if isinstance(self.options.input_file, str) else None
        self.folders = [os.path.dirname(os.path.abspath(copy)) if copy else None, extension.svg_path(),
                        os.getcwd()]

    def effect(self) -> None:
        counts = parse_counts(self.options.strokes)  # empty: the server's default counts
        if not self.svg.selection:
            raise inkex.AbortExtension("Nothing is selected: select one or more images (raster pictures) first.")
        images = [element for element in self.svg.selection.values() if isinstance(element, inkex.Image)]
        if not images:
            raise inkex.AbortExtension("The selection holds no image: select a raster picture (an <image>).")
        photos = [(image, self.photo_bytes(image)) for image in images]  # every picture read before any work
        client = self.connect()
        counts = counts or list(client.info().defaults.strokes)
        try:
            for image, photo in photos:
                self.sketch_image(client, image, photo, counts)
        finally:
            client.close()

    def refine(self) -> None:
        """Refine sketch: one image and some paths (a sketch layer, or the user's own) → a new layer of
        ``total_strokes`` strokes that starts from those paths (kept fixed when asked); the paths stay as they are."""
        selected = list(self.svg.selection.values())
        images = [element for element in selected if isinstance(element, inkex.Image)]
        paths = [element for element in selected if isinstance(element, inkex.PathElement)]
        for element in selected:  # a selected layer or group brings its paths
            if isinstance(element, inkex.Group):
                paths += [path for path in element.iterdescendants() if isinstance(path, inkex.PathElement)]
        if len(images) != 1:
            raise inkex.AbortExtension(
                f"Select one image and the paths to refine (a sketch layer, or paths you drew); the selection "
                f"holds {len(images)} images.")
        if not paths:
            raise inkex.AbortExtension("Select the paths to refine too (a sketch layer, or paths you drew), with "
                                       "the image.")
        image = images[0]
        photo = self.photo_bytes(image)
        try:
            size = picture_size(photo)
        except PictureUnavailable as error:
            raise inkex.AbortExtension(f"Image {image_name(image)}: {error}.") from None
        try:
            start = start_strokes_from_paths(paths, photo_to_document(image, size), self.options.stroke_color,
                                             self.options.keep_fixed)
        except UnreadablePath as error:
            raise inkex.AbortExtension(str(error)) from None
        total = self.options.total_strokes
        if total < len(start):
            raise inkex.AbortExtension(
                f"The selected paths make {len(start)} strokes (each curve segment is one), more than the "
                f"{total} asked for in all: raise 'Total strokes' to at least {len(start)}, or select fewer paths.")
        client = self.connect()
        try:
            self.sketch_image(client, image, photo, [total], start=start, label="refined, ")
        finally:
            client.close()

    def photo_bytes(self, image: inkex.Image) -> bytes:
        try:
            return read_picture(image_href(image), [folder for folder in self.folders if folder])
        except PictureUnavailable as error:
            raise inkex.AbortExtension(f"Image {image_name(image)}: {error}.") from None

    # --- the server --------------------------------------------------------------------------------------------

    def connect(self) -> SketchClient:
        """A client of a serving server; starts a local one if allowed and nothing listens."""
        address = self.options.server.strip()
        try:
            host, port = split_address(address)
        except AddressError as error:
            message = str(error)
            raise inkex.AbortExtension(f"{message[0].upper()}{message[1:]}.") from None
        local = is_loopback(address)
        if not local:
            try:
                socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
            except (socket.gaierror, UnicodeError):
                raise inkex.AbortExtension(
                    f"The server name {host!r} cannot be found (DNS lookup failed). Check the address on the "
                    "Server tab, and that this computer is on the network that knows that name.") from None
        client = SketchClient(address, token=self.token())
        try:
            if not client.info(timeout=HANDSHAKE_SECONDS).device:  # there, but still loading its models
                client.wait_until_serving(START_SECONDS)
            return client
        except ServerError as error:
            silent = error.code in (Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED)  # nothing there, or no gRPC
            if silent and local and self.options.start_server:
                try:
                    start_local_server(client, address)
                    return client
                except LocalServerFailed as failure:
                    client.close()
                    raise inkex.AbortExtension(f"Could not start a local clipsketch server: {failure}") from None
            client.close()
            raise inkex.AbortExtension(connection_problem(address, error, local)) from None

    def token(self) -> str | None:
        name = (getattr(self.options, "token_file", "") or "").strip()
        if not name:
            return None
        try:
            return read_token_file(name)
        except ValueError:
            return None
        except OSError as error:
            raise inkex.AbortExtension(f"Cannot read the token file {name} ({error.strerror}).") from None

    # --- one image ---------------------------------------------------------------------------------------------

    def sketch_image(self, client: SketchClient, image: inkex.Image, photo: bytes, counts: list[int],
                     start: list | None = None, label: str = "") -> None:
        request_id = uuid.uuid4().hex
        color = str(self.options.stroke_color.to_rgb())
        try:
            size = picture_size(photo)
        except PictureUnavailable as error:
            raise inkex.AbortExtension(f"Image {image_name(image)}: {error}.") from None
        # the width asked for (px of the page) in photo pixels, so the sketch is optimised at the width it is drawn
        width = self.svg.viewport_to_unit(f"{self.options.stroke_width}px") / photo_scale(image, size)
        request = pb.SketchRequest(
            photo=photo, strokes=counts, schedule=self.options.schedule, iterations=self.options.iterations,
            seeds=self.options.seeds, mask=pb.MASK_ON if self.options.mask else pb.MASK_OFF, stroke_width=width,
            stroke_color=color, preview_every=10, request_id=request_id, start=start or [],
            line=self.options.line, one_line=self.options.one_line and not start)
        window = open_progress_window(self.options.show_progress, image_name(image), photo, counts, color)
        results, early = [], False
        try:
            events = client.events(request)
            for event in (window.run(events, client, request_id) if window else events):
                if event.HasField("result"):
                    results.append(event.result)
                elif event.HasField("done"):
                    early = event.done.finished_early
        except SketchCancelledByUser:
            raise inkex.AbortExtension("Cancelled: no sketch was added.") from None
        except ServerError as error:
            if error.code == Status.CANCELLED:
                raise inkex.AbortExtension(f"The sketch was cancelled ({error}); nothing was added.") from None
            if error.code == Status.INVALID_ARGUMENT:
                raise inkex.AbortExtension(f"Image {image_name(image)}: the clipsketch server refused the sketch: "
                                           f"{error}") from None
            raise inkex.AbortExtension(f"The clipsketch server refused the sketch: {error}") from None
        if early and not results:
            raise inkex.AbortExtension("Use this was pressed before the sketch had started: nothing was added.")
        for result in results:
            self.add_layer(image, result, label)

    def add_layer(self, image: inkex.Image, result, label: str = "") -> None:
        """One layer of ``result``'s paths over ``image`` (placed by the photo size the server answered with: the
        EXIF-rotated picture, as Inkscape draws it); widths scale with the image."""
        size = (result.photo_width, result.photo_height)
        transform = photo_to_document(image, size)
        scale = photo_scale(image, size)
        name = image_name(image)
        layer = self.svg.add(inkex.Layer.new(f"Sketch – {name} – {label}{result.strokes} strokes"))
        layer.set("id", self.svg.get_unique_id(f"sketch-{result.strokes}-"))
        for path in result.paths:
            if path.taper > 0 and path.outline:  # a tapered line: Inkscape's Taper Stroke draws it
                element = tapered_path(self.svg, place_path(path.d, transform), place_path(path.outline, transform),
                                       path.width * scale, path.taper, path.color, path.opacity)
            else:
                element = inkex.PathElement.new(path=place_path(path.d, transform))
                element.style = inkex.Style({
                    "fill": "none", "stroke": path.color, "stroke-width": f"{path.width * scale:.4g}",
                    "stroke-opacity": f"{path.opacity:.3g}", "stroke-linecap": "round", "stroke-linejoin": "round"})
            element.set("id", self.svg.get_unique_id(f"{image.get_id()}-stroke-"))
            layer.add(element)


def image_name(image: inkex.Image) -> str:
    """What the user calls the image: its label (Objects panel), else its id."""
    return (image.label or "").strip() or image.get_id()


def connection_problem(address: str, error: ServerError, local: bool) -> str:
    """What to tell the user when the server at ``address`` did not answer ``GetInfo`` with ``error``."""
    if error.code == Status.UNAUTHENTICATED:
        return (f"The clipsketch server at {address} wants a token: put it in a file and give that file on the "
                "Server tab (Token file).")
    if error.code not in (Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED):
        return f"The clipsketch server at {address} refused: {error}"
    text = str(error).lower()
    why = ("connection refused" if "refused" in text else
           "timed out" if error.code == Status.DEADLINE_EXCEEDED or "timeout" in text or "timed out" in text
           else "unreachable")
    if local:
        return (f"No clipsketch server runs at {address} on this computer ({why}). Tick 'Start a local server if "
                f"none is running' on the Server tab, or start one with `clipsketch serve --listen {address}` (or "
                "`clipsketch service install`).")
    host, port = split_address(address)
    return (f"The clipsketch server at {address} does not answer ({why}). Check that `clipsketch serve --listen "
            f"0.0.0.0:{port} --token-file FILE` runs on {host}, that the address and port are right, "
            "and that no firewall blocks the port. (A local server can only be started on this computer.)")


def parse_counts(text: str) -> list[int]:
    """The stroke counts in ``text`` (``4,8,16,32``, ``4 8``, ``4/8``); none: the server's defaults."""
    try:
        counts = [int(word) for word in text.replace(",", " ").replace("/", " ").split()]
    except ValueError:
        raise inkex.AbortExtension(f"Stroke counts must be whole numbers like 4,8,16,32; got {text!r}.") from None
    return counts
