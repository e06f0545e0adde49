"""The extension as it ships (the zip, unpacked) run by Inkscape's own Python without Inkscape, as Inkscape runs
it (the entry script, the selection as ``--id``, the document on stdout, messages on stderr), against a real
server on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import threading
import time
from pathlib import Path

import inkex
import pytest
from inkex.tester.inx import InxMixin
from lxml import etree

from clipsketch_inkscape.placement import (
    composed_transform,
    parse_preserve_aspect_ratio,
    photo_to_box,
    photo_to_document,
)

from clipsketch.core.schedules import SCHEDULES
from tests.inkscape_extension.conftest import EXTENSION_SOURCE as EXTENSION
from tests.inkscape_extension.conftest import extension_python, run_extension
SVG = "http://www.w3.org/2000/svg"
INKSCAPE = "http://www.inkscape.org/namespaces/inkscape"


def document(photo_png: bytes, linked_name: str = "chelsea.png") -> str:
    data = "data:image/png;base64," + base64.b64encode(photo_png).decode()
    return f"""<svg xmlns="{SVG}" xmlns:xlink="http://www.w3.org/1999/xlink"
     xmlns:inkscape="{INKSCAPE}" width="1200" height="900" viewBox="0 0 1200 900">
  <image id="plain" x="10" y="20" width="451" height="300" xlink:href="{data}"/>
  <image id="scaled" x="500" y="20" width="225.5" height="150" xlink:href="{data}"/>
  <g id="group" transform="translate(300 400) scale(1.5)">
    <image id="rotated" x="0" y="0" width="200" height="133" transform="rotate(30)" xlink:href="{data}"/>
  </g>
  <image id="letterbox" x="800" y="400" width="300" height="400" preserveAspectRatio="xMidYMid meet"
         xlink:href="{data}"/>
  <image id="linked" x="10" y="600" width="451" height="300" xlink:href="{linked_name}"/>
  <rect id="box" x="0" y="0" width="10" height="10"/>
</svg>"""


@pytest.fixture
def workspace(tmp_path, photo_bytes):
    (tmp_path / "chelsea.png").write_bytes(photo_bytes)
    path = tmp_path / "drawing.svg"
    path.write_text(document(photo_bytes))
    return path


class ExtensionFailed(Exception):
    """The extension ended with a non-zero status; ``message`` is what it wrote on stderr (Inkscape's dialog)."""

    def __init__(self, status: int, message: str):
        super().__init__(f"exit status {status}: {message}")
        self.status, self.message = status, message


def run_effect(svg_path: Path, address: str, *ids: str, folder=None, prelude: str = "", **options):
    """The document the extension returns; ExtensionFailed with its message when it fails. Anything on stderr
    after a success fails the test (Inkscape would show it in a dialog)."""
    settings = {"strokes": "3,5", "iterations": "2", "seeds": "1", "mask": "false", "show_progress": "false",
                "start_server": "false", "server": address, "stroke_width": "2.5", **options}
    arguments = [f"--id={i}" for i in ids] + [f"--{key}={value}" for key, value in settings.items()] + [str(svg_path)]
    script = "clipsketch_refine.py" if settings.get("action") == "refine" else "clipsketch_sketch.py"
    run = run_extension(folder or _shipped_folder, arguments, script, cwd=svg_path.parent,
                        python_prelude=prelude)
    if run.returncode != 0:
        raise ExtensionFailed(run.returncode, run.stderr)
    assert run.stderr == "", run.stderr
    return etree.fromstring(run.stdout.encode())


_shipped_folder: Path | None = None


@pytest.fixture(autouse=True)
def _extension_folder(extension_dir):
    global _shipped_folder
    _shipped_folder = extension_dir


def layers(root):
    return [g for g in root.iter(f"{{{SVG}}}g") if g.get(f"{{{INKSCAPE}}}groupmode") == "layer"]


def image_box(root, image_id):
    """Bounding box of the image's box corners in document coordinates."""
    svg = inkex.load_svg(etree.tostring(root)).getroot()
    image = svg.getElementById(image_id)
    transform = image.composed_transform()
    x, y, w, h = (float(image.get(k)) for k in ("x", "y", "width", "height"))
    corners = [transform.apply_to_point((px, py)) for px, py in ((x, y), (x + w, y), (x, y + h), (x + w, y + h))]
    xs, ys = [c.x for c in corners], [c.y for c in corners]
    return min(xs), min(ys), max(xs), max(ys)


def path_points(layer):
    points = []
    for path in layer.iter(f"{{{SVG}}}path"):
        numbers = [float(v) for v in path.get("d").replace("M", " ").replace("C", " ").replace(",", " ").split()]
        points += list(zip(numbers[0::2], numbers[1::2]))
    return points


@pytest.mark.parametrize("image_id", ["plain", "scaled", "rotated", "letterbox", "linked"])
def test_layers_of_paths_are_placed_over_the_image(server, workspace, image_id):
    original = etree.fromstring(workspace.read_bytes())
    root = run_effect(workspace, server.address, image_id)
    added = layers(root)
    assert [layer.get(f"{{{INKSCAPE}}}label") for layer in added] == [f"Sketch – {image_id} – 3 strokes",
                                                                      f"Sketch – {image_id} – 5 strokes"]
    for layer, count in zip(added, (3, 5)):
        paths = list(layer.iter(f"{{{SVG}}}path"))
        assert len(paths) == count
        style = inkex.Style(paths[0].get("style"))
        assert style["fill"] == "none" and float(style["stroke-width"]) == pytest.approx(2.5)
        left, top, right, bottom = image_box(root, image_id)
        slack = 0.12 * max(right - left, bottom - top)  # the frame's margin and the strokes' reach
        for x, y in path_points(layer):
            assert left - slack <= x <= right + slack and top - slack <= y <= bottom + slack
    # everything that was there is untouched
    for element in original.iter():
        if element.get("id"):
            kept = root.find(f".//*[@id='{element.get('id')}']")
            assert kept is not None and dict(kept.attrib) == dict(element.attrib)


def test_letterboxed_sketch_sits_inside_the_drawn_picture(server, workspace):
    """meet: a 451×300 photo in a 300×400 box is drawn 300×199.6, centred vertically."""
    root = run_effect(workspace, server.address, "letterbox", strokes="8")
    points = path_points(layers(root)[0])
    ys = [y for _, y in points]
    drawn_top = 400 + (400 - 300 * 300 / 451) / 2
    drawn_bottom = drawn_top + 300 * 300 / 451
    margin = 0.12 * 300
    assert drawn_top - margin <= min(ys) and max(ys) <= drawn_bottom + margin


def test_several_images_get_their_own_layers(server, workspace):
    root = run_effect(workspace, server.address, "plain", "scaled", strokes="4")
    assert sorted(layer.get(f"{{{INKSCAPE}}}label") for layer in layers(root)) == [
        "Sketch – plain – 4 strokes", "Sketch – scaled – 4 strokes"]


def test_a_layer_is_named_after_the_images_label(server, tmp_path, photo_bytes):
    path = tmp_path / "drawing.svg"
    path.write_text(document(photo_bytes).replace('id="plain"', 'id="plain" inkscape:label="Tom the cat"'))
    root = run_effect(path, server.address, "plain", strokes="3")
    assert [layer.get(f"{{{INKSCAPE}}}label") for layer in layers(root)] == ["Sketch – Tom the cat – 3 strokes"]


def test_an_exif_rotated_jpeg_is_placed_as_inkscape_draws_it(server, tmp_path, chelsea):
    """Inkscape draws a JPEG with its EXIF orientation applied (checked in Inkscape 1.2.2), as the server reads
    it: a 451 × 300 JPEG tagged "turn 90°" (orientation 6) is a 300 × 451 picture that fills a 300 × 451 box.
    Placed by the file's raw 451 × 300 size it would be squeezed into the band 125.7 < y < 325.3 instead."""
    from PIL import Image

    sideways = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(chelsea).save(sideways, "JPEG", exif=exif.tobytes())
    data = base64.b64encode(sideways.getvalue()).decode()
    path = tmp_path / "drawing.svg"
    path.write_text(f'<svg xmlns="{SVG}" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 400 500">'
                    f'<image id="turned" x="0" y="0" width="300" height="451" '
                    f'xlink:href="data:image/jpeg;base64,{data}"/></svg>')
    root = run_effect(path, server.address, "turned", strokes="16", iterations="3")
    points = path_points(layers(root)[0])
    assert all(-1 <= x <= 301 and -1 <= y <= 452 for x, y in points)
    assert any(not 125 < y < 326 for _, y in points)


@pytest.mark.parametrize("local, words", [(True, ["No clipsketch server runs", "connection refused",
                                                  "Start a local server"]),
                                          (False, ["does not answer", "connection refused", "firewall",
                                                   "only be started on this computer"])])
def test_connection_problems_fit_the_case(extension_dir, local, words):
    """A real refused connection (nothing listens on 127.0.0.1:9) in Inkscape's Python, told as a local or a
    remote problem."""
    run = extension_python(extension_dir, f"""
from clipsketch_inkscape.effect import connection_problem
from clipsketch_inkscape.rpc import ServerError, SketchClient
with SketchClient("127.0.0.1:9") as client:
    try:
        client.info()
    except ServerError as error:
        print(connection_problem("127.0.0.1:9", error, {local}))
""")
    message = run.stdout
    assert all(word in message for word in words), message + run.stderr
    assert ("Start a local server" in message) == local


def test_an_unknown_server_name_is_named(server, workspace):
    """The DNS answer is simulated: tests send nothing off this machine, not even a DNS query."""
    prelude = ("import socket\n"
               "def no_such_name(host, *args, **kwargs):\n"
               "    raise socket.gaierror(socket.EAI_NONAME, 'Name or service not known')\n"
               "socket.getaddrinfo = no_such_name")
    with pytest.raises(ExtensionFailed) as failed:
        run_effect(workspace, server.address, "plain", server="gpu-box.example:50051", prelude=prelude)
    assert "'gpu-box.example' cannot be found (DNS lookup failed)" in failed.value.message


@pytest.mark.parametrize(
    "ids, options, message",
    [
        ((), {}, "Nothing is selected"),
        (("box",), {}, "no image"),
        (("plain",), {"server": "127.0.0.1:9"}, "clipsketch serve"),
        (("plain",), {"server": "no-port"}, "is not host:port"),
        (("plain",), {"server": "10.0.0.1:50051", "token_file": "/nonexistent/token"}, "Cannot read the token"),
        (("plain",), {"strokes": "0"}, "refused the sketch"),
        (("plain",), {"strokes": "many"}, "whole numbers"),
    ],
)
def test_errors_are_clear_messages(server, workspace, ids, options, message):
    with pytest.raises(ExtensionFailed) as failed:  # a failure (non-zero status), not "done with remarks"
        run_effect(workspace, server.address, *ids, **options)
    assert message in failed.value.message and "Traceback" not in failed.value.message


def test_missing_linked_file(server, tmp_path, photo_bytes):
    path = tmp_path / "drawing.svg"
    path.write_text(document(photo_bytes, linked_name="gone.png"))
    with pytest.raises(ExtensionFailed) as failed:
        run_effect(path, server.address, "linked")
    message = failed.value.message
    assert "Image linked: the linked file 'gone.png' does not exist" in message and str(tmp_path / "gone.png") in message


def test_cancelled_on_the_server(server, workspace):
    def cancel_when_running():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            running = list(server.jobs._running)
            if running:
                server.jobs.cancel(running[0])
                return
            time.sleep(0.05)

    threading.Thread(target=cancel_when_running, daemon=True).start()
    with pytest.raises(ExtensionFailed) as failed:
        run_effect(workspace, server.address, "plain", iterations="5000")
    assert "cancelled" in failed.value.message


def test_success_writes_nothing_to_stderr(server, workspace):
    run_effect(workspace, server.address, "plain")  # run_effect asserts an empty stderr


@pytest.mark.parametrize("inx", ["clipsketch_sketch.inx", "clipsketch_refine.inx"])
def test_inx_passes_inkex_checks(monkeypatch, inx):
    monkeypatch.chdir(EXTENSION)  # the checker looks for the script the .inx names from here
    checker = InxMixin()
    checker.assertEqual = lambda a, b, msg=None: None if a == b else pytest.fail(msg or f"{a!r} != {b!r}")
    checker.assertTrue = lambda value, msg=None: None if value else pytest.fail(msg or "assertTrue failed")
    checker.assertFalse = lambda value, msg=None: None if not value else pytest.fail(msg or "assertFalse failed")
    checker.assertIn = lambda a, b, msg=None: None if a in b else pytest.fail(msg or f"{a!r} not in {b!r}")
    checker.assertNotIn = lambda a, b, msg=None: None if a not in b else pytest.fail(msg or f"{a!r} in {b!r}")
    checker.assertGreater = lambda a, b, msg=None: None if a > b else pytest.fail(msg or f"{a!r} <= {b!r}")
    checker.assertInxIsGood(str(EXTENSION / inx))
    root = etree.parse(str(EXTENSION / inx)).getroot()
    ns = {"i": "http://www.inkscape.org/namespace/inkscape/extension"}
    identifier = root.find("i:id", ns).text
    assert "_" not in identifier  # Inkscape turns underscores into '-' in action names
    assert root.find("i:effect", ns).get("needs-live-preview") == "false"
    assert root.find("i:effect/i:effects-menu/i:submenu", ns).get("name") == "Sketch"


def matrix(transform) -> tuple[float, ...]:
    (a, c, e), (b, d, f) = transform.matrix
    return a, b, c, d, e, f


def test_placement_math():
    assert parse_preserve_aspect_ratio(None) == ("meet", 0.5, 0.5)
    assert parse_preserve_aspect_ratio("xMaxYMin slice") == ("slice", 1.0, 0.0)
    assert parse_preserve_aspect_ratio("none")[0] == "none"
    with pytest.raises(ValueError):
        parse_preserve_aspect_ratio("xFooYBar")
    meet = photo_to_box((400, 200), (0, 0, 100, 100), "xMidYMid meet")
    assert matrix(meet) == pytest.approx((0.25, 0, 0, 0.25, 0, 25))
    stretched = photo_to_box((400, 200), (10, 10, 100, 100), "none")
    assert matrix(stretched) == pytest.approx((0.25, 0, 0, 0.5, 10, 10))
    sliced = photo_to_box((400, 200), (0, 0, 100, 100), "xMinYMid slice")
    assert matrix(sliced) == pytest.approx((0.5, 0, 0, 0.5, 0, 0))
    rotate = inkex.Transform((0.0, 1.0, -1.0, 0.0, 0.0, 0.0))  # 90°
    assert matrix(rotate @ meet) == pytest.approx((0, 0.25, -0.25, 0, -25, 0))


@pytest.mark.parametrize(
    "root, image, corner",
    [
        # Inkscape's default A4: unitless numbers are millimetres (user units), not px
        ('width="210mm" height="297mm" viewBox="0 0 210 297"', 'x="20" y="30" width="100" height="50"', (120, 80)),
        # a viewBox offset moves the page, not the user units the image and the layers share
        ('width="8in" height="6in" viewBox="-50 -20 800 600"', 'x="-40" y="0" width="200" height="100"', (160, 100)),
        # lengths with units are CSS lengths in user space: 10mm = 37.8 user units whatever the viewBox
        ('width="210mm" height="297mm" viewBox="0 0 210 297"', 'x="10mm" y="0" width="100pt" height="50pt"',
         (10 * 96 / 25.4 + 100 * 96 / 72, 50 * 96 / 72)),
        # no size: the picture's own pixels
        ('width="100" height="100" viewBox="0 0 100 100"', 'x="5" y="5"', (5 + 40, 5 + 20)),
        # nested transforms below the root, and the root's own (invalid SVG 1.1) transform ignored
        ('viewBox="0 0 500 500" transform="scale(3)"', 'x="0" y="0" width="40" height="20" '
         'transform="translate(10 0)"', (2 * (10 + 40) + 5, 2 * 20 + 7)),
    ],
    ids=["a4-mm", "viewbox-offset", "css-units", "no-size", "nested"],
)
def test_photo_corner_lands_on_the_image_corner(root, image, corner):
    """The photo's far corner (40 × 20 pixels) lands on the image box's far corner, in root user units."""
    nested = "nested" in image or "translate" in image
    body = f'<image id="im" {image}/>'
    if nested:
        body = f'<g transform="translate(5 7)"><g transform="scale(2)">{body}</g></g>'
    svg = inkex.load_svg(f'<svg xmlns="{SVG}" {root}>{body}</svg>'.encode()).getroot()
    before = etree.tostring(svg)
    transform = photo_to_document(svg.getElementById("im"), (40, 20))
    point = transform.apply_to_point((40, 20))
    assert (point.x, point.y) == pytest.approx(corner)
    assert etree.tostring(svg) == before  # reading the placement rewrites no attribute
    assert matrix(composed_transform(svg)) == pytest.approx((1, 0, 0, 1, 0, 0))


def refine_document(photo_png: bytes) -> str:
    """An image inside rotated and scaled groups, and the user's own paths in a transformed group of their own."""
    data = "data:image/png;base64," + base64.b64encode(photo_png).decode()
    return f"""<svg xmlns="{SVG}" xmlns:xlink="http://www.w3.org/1999/xlink"
     xmlns:inkscape="{INKSCAPE}" width="297mm" height="210mm" viewBox="0 0 297 210">
  <g transform="translate(40 20) rotate(12)"><g transform="scale(0.4)">
    <image id="cat" x="10" y="10" width="451" height="300" xlink:href="{data}"/></g></g>
  <g id="mine" transform="translate(60 50) scale(1.2)">
    <path id="curvy" d="m 10 10 l 20 5 c 5 5 10 5 15 0" style="fill:none;stroke:#0000ff;stroke-width:0.8"/>
    <path id="straight" d="M 40 40 L 60 45" style="fill:none;stroke:#00aa00;stroke-width:0.5"/>
  </g>
</svg>"""


def cubic_segments(root, path_id):
    """The path's segments in root user units as 8 numbers each (lines as cubics with controls at thirds)."""
    svg = inkex.load_svg(etree.tostring(root)).getroot()
    element = svg.getElementById(path_id)
    path = inkex.Path(element.get("d")).transform(composed_transform(element)).to_absolute()
    segments, current = [], None
    for command in path:
        numbers = list(command.args)
        if command.letter == "M":
            current = numbers
        elif command.letter == "L":
            (x0, y0), (x3, y3) = current, numbers
            segments.append([x0, y0, x0 + (x3 - x0) / 3, y0 + (y3 - y0) / 3, x0 + 2 * (x3 - x0) / 3,
                             y0 + 2 * (y3 - y0) / 3, x3, y3])
            current = numbers
        elif command.letter == "C":
            segments.append(current + numbers)
            current = numbers[4:]
    return segments


def test_refine_keeps_my_strokes_exactly_and_adds_new_ones(server, tmp_path, photo_bytes):
    path = tmp_path / "refine.svg"
    path.write_text(refine_document(photo_bytes))
    original = etree.fromstring(path.read_bytes())
    root = run_effect(path, server.address, "cat", "mine", action="refine", total_strokes="7", keep_fixed="true",
                      iterations="4")
    added = layers(root)
    assert [layer.get(f"{{{INKSCAPE}}}label") for layer in added] == ["Sketch – cat – refined, 7 strokes"]
    strokes = [[float(v) for v in p.get("d").replace("M", " ").replace("C", " ").replace(",", " ").split()]
               for p in added[0].iter(f"{{{SVG}}}path")]
    assert len(strokes) == 7
    expected = cubic_segments(original, "curvy") + cubic_segments(original, "straight")
    assert len(expected) == 3
    for got, want in zip(strokes, expected):  # document → photo → document: within 0.01 user units
        assert max(abs(a - b) for a, b in zip(got, want)) <= 0.01, (got, want)
    colors = [inkex.Style(p.get("style"))["stroke"] for p in added[0].iter(f"{{{SVG}}}path")]
    assert colors[:3] == ["#0000ff", "#0000ff", "#00aa00"]  # the user's colours kept
    for element in original.iter():  # the user's paths (and everything else) untouched
        if element.get("id"):
            kept = root.find(f".//*[@id='{element.get('id')}']")
            assert kept is not None and dict(kept.attrib) == dict(element.attrib)


@pytest.mark.parametrize(
    "ids, options, message",
    [
        (("cat",), {}, "Select the paths to refine too"),
        (("mine",), {}, "the selection holds 0 images"),
        (("cat", "mine"), {"total_strokes": "2"}, "make 3 strokes"),
    ],
)
def test_refine_bad_selections_are_clear(server, tmp_path, photo_bytes, ids, options, message):
    path = tmp_path / "refine.svg"
    path.write_text(refine_document(photo_bytes))
    with pytest.raises(ExtensionFailed) as failed:
        run_effect(path, server.address, *ids, action="refine", **options)
    assert message in failed.value.message


def test_refine_bad_path_data_is_named(server, tmp_path, photo_bytes):
    path = tmp_path / "refine.svg"
    path.write_text(refine_document(photo_bytes).replace('d="M 40 40 L 60 45"', 'd="M 40 40 L banana"'))
    with pytest.raises(ExtensionFailed) as failed:
        run_effect(path, server.address, "cat", "mine", action="refine")
    assert "straight" in failed.value.message


def test_the_schedule_reaches_the_server_and_zero_means_the_schedules_own(workspace, server, caplog):
    caplog.set_level("INFO", logger="clipsketch.server")
    run_effect(workspace, server.address, "plain", strokes="3", schedule="reference", iterations="2")
    run_effect(workspace, server.address, "plain", strokes="3", iterations="0", seeds="0")
    queued = [record.fields for record in caplog.records if record.getMessage() == "job queued"]
    assert [(q["schedule"], q["iterations"], q["seeds"]) for q in queued] == [
        ("reference", 2, 1), ("fast", SCHEDULES["fast"].iterations, SCHEDULES["fast"].seeds)]
